"""The ``moveo`` command line: the application floor above every library layer.

No library module imports this package. Each module in :data:`COMMAND_MODULES`
exposes ``register(subparsers)``, which adds its subcommands and sets ``func``
(called with the parsed namespace, returning an exit code).

A user error (a missing path, an unknown feature, a bad parameter) prints one line
``moveo: error: ...`` and exits with code 2; ``--verbose`` shows the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMAND_MODULES = ("moveo.cli.pipeline", "moveo.cli.data", "moveo.cli.realtime")

# exceptions that are the user's to fix (bad path, bad name, bad value): one line, exit 2
USER_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    ValueError,
    KeyError,
    TypeError,
    ImportError,
)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every registered subcommand.

    Returns
    -------
    argparse.ArgumentParser
    """
    from moveo import __version__

    parser = argparse.ArgumentParser(
        prog="moveo",
        description="Fast feature pipelines and realtime prediction for movement signals.",
    )
    parser.add_argument("--version", action="version", version=f"moveo {__version__}")
    parser.add_argument(
        "--verbose", action="store_true", help="show the full traceback of an error"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _register_warmup(sub)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _register_warmup(subparsers: argparse._SubParsersAction) -> None:
    warm = subparsers.add_parser(
        "warmup",
        help="compile moveo's kernels now (kept in numba's on-disk cache)",
        description="Compile numba kernels once and keep them in numba's on-disk cache, "
        "so the first pipeline run or realtime session does not pay for compilation. "
        "Without options: every kernel (minutes on a cold cache; later runs load the "
        "cache in seconds). --features / --modules compile only what those need.",
    )
    warm.add_argument(
        "--features", nargs="+", default=None, metavar="NAME",
        help="feature names (speed-angvel, pair-facing, ...) and/or EMG codes or groups "
             "(HTD, MAV, TDPSD, ...): compile only the kernels they use",
    )  # fmt: skip
    warm.add_argument(
        "--modules", nargs="+", default=None, metavar="MODULE",
        help="kernel modules (ring, moveo.kernels.kinematics, ...) to compile",
    )  # fmt: skip
    warm.add_argument(
        "--jobs", type=int, default=1, metavar="N",
        help="compile modules with a cold cache in N worker processes first (default 1; "
             "see 'First run' in docs/performance.md for when it pays)",
    )  # fmt: skip
    warm.add_argument("--quiet", action="store_true", help="no progress bar")
    warm.set_defaults(func=_warmup)


def _warmup(args: argparse.Namespace) -> int:
    import time

    from moveo import _numba

    t0 = time.perf_counter()
    jobs = args.jobs
    if jobs < 1:
        raise ValueError(f"--jobs must be >= 1, got {jobs}")
    if args.features is None and args.modules is None:
        n = _numba.warmup(force=True, progress=not args.quiet, jobs=jobs)
    else:
        from moveo.features._warm import warmup_features

        targets = [m if "." in m else f"moveo.kernels.{m}" for m in args.modules or []]
        n = 0
        if targets:
            n = _numba.warmup(targets, force=True, progress=not args.quiet, jobs=jobs)
        if args.features:
            n += warmup_features(args.features, progress=not args.quiet, jobs=jobs)
    where = "" if _numba.CACHE else " (MOVEO_NUMBA_CACHE=0: not kept on disk)"
    print(f"{n} warm-ups compiled or loaded in {time.perf_counter() - t0:.1f} s{where}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``moveo`` command.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Process exit code.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("moveo: interrupted", file=sys.stderr)
        return 130
    except USER_ERRORS as exc:
        if args.verbose:
            raise
        print(f"moveo: error: {_one_line(exc)}", file=sys.stderr)
        return 2


def _one_line(exc: BaseException) -> str:
    """Return the exception's message on one line (a KeyError's without quotes)."""
    text = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
    message = " ".join(str(text).split()) or type(exc).__name__
    return message


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
