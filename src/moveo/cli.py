"""The ``moveo`` command line.

Subcommands live next to the code they drive: each module in
:data:`COMMAND_MODULES` exposes ``register(subparsers)``, which adds its
subcommands and sets ``func`` (called with the parsed namespace, returning an
exit code).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMAND_MODULES = ("moveo.pipeline.cli", "moveo.realtime.cli")


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
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


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
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
