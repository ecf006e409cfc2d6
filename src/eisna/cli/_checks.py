"""Usage checks run before any command starts: bad values fail in a second with exit status 2.

Each check returns one line saying what is wrong and what was expected, or None. The
commands then run knowing that their paths exist, their numbers are in range, their
circuit resolves and their output folder can be written.
"""

from __future__ import annotations

import argparse
import difflib
import math
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["add_reading_limit", "check_usage", "one_line_warnings", "size_argument"]

# numeric flags that must be finite and > 0, with their unit for the message
_POSITIVE = {"fmin": "Hz", "fmax": "Hz", "area_cm2": "cm²", "thickness_cm": "cm", "eps_r": ""}
# commands that read instrument files: they take --max-file-size
READING_COMMANDS = ("info", "fit", "kk", "drt", "batch", "arrhenius")
_IDENTIFIER = re.compile(r"[A-Za-z_][\w.]*")


def size_argument(text: str) -> int:
    """argparse ``type=`` for a size (``500M``, ``4G``, ``1048576``): bytes, or exit status 2."""
    from ..io._limits import parse_size

    try:
        return parse_size(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def add_reading_limit(parser: argparse.ArgumentParser) -> None:
    """Add ``--max-file-size SIZE`` to a subcommand that reads instrument files."""
    parser.add_argument(
        "--max-file-size",
        type=size_argument,
        metavar="SIZE",
        help="refuse input files larger than this (e.g. 500M, 8G; default 2G)",
    )


def check_usage(args: argparse.Namespace) -> str | None:
    """The first usage problem of ``args`` as one line, or None when the command can run."""
    for check in (_numbers, _paths, _circuit, _out):
        problem = check(args)
        if problem:
            return problem
    return None


def _numbers(args: argparse.Namespace) -> str | None:
    for name, unit in _POSITIVE.items():
        value = getattr(args, name, None)
        if value is not None and not (math.isfinite(value) and value > 0):
            flag = "--" + name.replace("_", "-")
            return f"{flag} must be a positive number{f' ({unit})' if unit else ''}; got {value!r}"
    fmin, fmax = getattr(args, "fmin", None), getattr(args, "fmax", None)
    if fmin is not None and fmax is not None and fmin >= fmax:
        return f"--fmin ({fmin:g} Hz) must be below --fmax ({fmax:g} Hz)"
    for name in ("delta_bic", "min_interlayer_ohm"):
        value = getattr(args, name, None)
        if value is not None and not math.isfinite(value):
            return f"--{name.replace('_', '-')} must be a finite number; got {value!r}"
    if getattr(args, "min_interlayer_ohm", None) is not None and args.min_interlayer_ohm < 0:
        return f"--min-interlayer-ohm must be 0 or more (Ω); got {args.min_interlayer_ohm!r}"
    if getattr(args, "jobs", None) is not None and args.jobs < 1:
        return f"--jobs must be at least 1; got {args.jobs}"
    return None


def _paths(args: argparse.Namespace) -> str | None:
    single = getattr(args, "file", None)
    if isinstance(single, str) and not os.path.exists(single):
        return f"{single}: no such file. Check the path."
    cycling = getattr(args, "cycling", None)
    if isinstance(cycling, str) and not os.path.exists(cycling):
        return f"--cycling {cycling}: no such file. Check the path."
    if args.command == "batch":
        from ..inputs import expand_inputs

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # loops are said again when the batch runs
            try:
                expand_inputs(args.paths)
            except Exception as err:  # UsageError: a path that matches nothing
                return str(err)
    if getattr(args, "potential", None) and args.command == "batch" and not cycling:
        return f"--potential {args.potential}: applies to the --cycling file; give --cycling FILE"
    tz = getattr(args, "tz", None)
    if tz:
        try:
            from zoneinfo import ZoneInfo

            ZoneInfo(tz)
        except (ValueError, LookupError, OSError):
            return f"--tz {tz}: unknown time zone; expected an Area/City name such as Europe/Berlin"
    return None


def _circuit(args: argparse.Namespace) -> str | None:
    text = getattr(args, "circuit", None)
    if not isinstance(text, str):
        return None
    if text == "auto" and getattr(args, "command", None) == "batch":  # the automatic choice
        return None
    from ..circuit import list_circuits
    from ..errors import EisnaError
    from ..fitting.engine import resolve_circuit

    try:
        resolve_circuit(text)
        return None
    except EisnaError as err:
        detail = str(err).splitlines()[0]
    if text.endswith(".toml"):
        return f"--circuit {text}: {detail}"
    names = list_circuits()
    if _IDENTIFIER.fullmatch(text):  # a name, not a circuit string
        close = difflib.get_close_matches(text, names, n=3, cutoff=0.4)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else f" Known: {', '.join(names)}."
        return (
            f"--circuit {text}: unknown circuit; expected a library name (see 'eisna circuits'), "
            f"a .toml file or a circuit string such as 'R0-p(R1,CPE1)'.{hint}"
        )
    return f"--circuit: {detail}"


def _out(args: argparse.Namespace) -> str | None:
    """An output folder that cannot be created or written is a usage error, found before fitting."""
    out = getattr(args, "out", None)
    if args.command not in ("batch", "arrhenius") or not out:
        return None
    path = Path(out)
    if path.exists() and not path.is_dir():
        return f"--out {out}: is a file, not a folder; expected a folder to write the results into"
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path, prefix=".eisna-probe-"):
            pass
    except OSError as err:
        return f"--out {out}: cannot write there ({err.strerror or err}); expected a writable folder"
    return None


@contextmanager
def one_line_warnings() -> Iterator[None]:
    """Print every warning as one line, ``warning: FILE: message``, without Python's source line."""
    original: Callable[..., None] = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"warning: {' '.join(str(message).split())}", file=file or sys.stderr)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = original
