"""Helpers shared by the subcommands."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable

from ..errors import EisnaError, UsageError


def print_per_file(paths: Iterable[str], lines_of: Callable[[str], list[str]]) -> int:
    """Print ``lines_of(path)`` for each file; report a failing file and go on to the next.

    Returns
    -------
    int
        0 when every file succeeded, 1 when any raised an :class:`~eisna.EisnaError`,
        2 when a path does not exist (bad usage).
    """
    status = 0
    for path in paths:
        try:
            print("\n".join(lines_of(path)))
        except EisnaError as err:
            print(f"eisna: error: {err}", file=sys.stderr)
            status = max(status, 2 if isinstance(err, UsageError) else 1)
    return status
