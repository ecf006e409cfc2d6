"""Command line interface: ``eisna <command> ...``.

A thin layer over the library. Each subcommand lives in its own module in
:mod:`eisna.cli` and defines ``register(subparsers)`` and ``run(args) -> int``.
Heavy libraries are imported inside ``run`` so that ``eisna --help`` stays fast.

Exit codes: 0 success, 1 analysis failure (an :class:`~eisna.EisnaError`),
2 bad usage.

Examples
--------
::

    eisna info sample_spectra/nas_looped.mpt
    eisna fit cell.mpt --circuit symmetric_interlayer --plot fit.png
    eisna batch sample_spectra/nas --circuit symmetric_interlayer --out results/
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from collections.abc import Sequence

from ..errors import EisnaError

__all__ = ["main"]

# subcommand modules, in the order `eisna --help` lists them
COMMANDS: tuple[str, ...] = (
    "info",
    "circuits",
    "fit",
    "kk",
    "drt",
    "batch",
    "arrhenius",
    "report",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every available subcommand."""
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="eisna",
        description="Impedance spectroscopy of sodium solid-state batteries.",
        epilog="Run 'eisna COMMAND --help' for a command's options and examples.",
    )
    parser.add_argument("--version", action="version", version=f"eisna {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as err:
            if err.name == f"{__name__}.{name}":
                continue  # command not built yet
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help/--version give 0, bad usage gives 2
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except EisnaError as err:
        if args.debug:
            traceback.print_exc()
        print(f"eisna: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("eisna: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `eisna circuits | head` closed stdout early: not an error, and no traceback at exit
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
