"""nox sessions: tests, bench, lint, docs."""

import nox

nox.options.sessions = ["tests", "lint", "docs"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    session.install("-e", ".[test,dask,docs]")
    session.run("pytest", *session.posargs, env={"MOVEO_BENCH_SIZE": "small"})


@nox.session
def bench(session: nox.Session) -> None:
    """Full-size benchmarks; prints the ours-vs-baseline ratio table at the end."""
    session.install("-e", ".[test,dask]")
    session.run(
        "pytest",
        "benchmarks",
        "--benchmark-only",
        "--benchmark-min-rounds=3",
        "--benchmark-max-time=2",
        "--timeout=3600",
        *session.posargs,
        env={"MOVEO_BENCH_SIZE": "full"},
    )


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", "src", "tests", "benchmarks", "noxfile.py")


@nox.session
def docs(session: nox.Session) -> None:
    session.install("-e", ".[docs]")
    session.run("mkdocs", "build", "--strict", *session.posargs)
