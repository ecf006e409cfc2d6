"""Command line interface: ``eisna <command> ...``.

A thin layer over the library. Each subcommand lives in its own module in
:mod:`eisna.cli` and defines ``register(subparsers)`` and ``run(args) -> int``.
Heavy libraries are imported inside ``run`` so that ``eisna --help`` stays fast.

Exit codes: 0 success, 1 analysis failure (an :class:`~eisna.EisnaError`, or a batch
with failed spectra), 2 bad usage (a bad flag value, a missing path, an unknown circuit,
an unusable ``--out``; all checked before any fitting). Every failure is one line on
stderr (``eisna: error: ...``) and every warning one line (``warning: FILE: message``);
``--debug`` shows tracebacks.

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

from ..errors import EisnaError, UsageError
from ._checks import READING_COMMANDS, add_reading_limit, check_usage, one_line_warnings

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
    for name in READING_COMMANDS:
        if name in sub.choices:
            add_reading_limit(sub.choices[name])
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
    with one_line_warnings():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    """Check the usage, run the command, and turn every failure into one line and a status."""
    try:
        problem = check_usage(args)
        if problem:
            print(f"eisna {args.command}: error: {problem}", file=sys.stderr)
            return 2
        from ..io._limits import limits

        with limits(max_bytes=getattr(args, "max_file_size", None)):  # for this command only
            return int(args.run(args) or 0)
    except EisnaError as err:
        if args.debug:
            traceback.print_exc()
        print(f"eisna: error: {_one_line(err)}", file=sys.stderr)
        # UsageError, and the batch's OutputError (an unusable --out), are bad usage
        return 2 if isinstance(err, UsageError) or type(err).__name__ == "OutputError" else 1
    except KeyboardInterrupt:
        print("eisna: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `eisna circuits | head` closed stdout early: not an error, and no traceback at exit
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as err:  # a bug or an OS failure: still one line unless --debug
        if args.debug:
            traceback.print_exc()
        print(
            f"eisna: error: {type(err).__name__}: {_one_line(err)} (run 'eisna --debug {args.command} ...' "
            "for the traceback)",
            file=sys.stderr,
        )
        return 1


def _one_line(err: BaseException) -> str:
    """The first line of an error message (circuit errors add a caret drawing below it)."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
