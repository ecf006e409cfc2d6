"""Helpers shared by the subcommands."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable

from ..errors import EisnaError


def print_per_file(paths: Iterable[str], lines_of: Callable[[str], list[str]]) -> int:
    """Print ``lines_of(path)`` for each file; report a failing file and go on to the next.

    Returns
    -------
    int
        0 when every file succeeded, 1 when any raised an :class:`~eisna.EisnaError`.
    """
    status = 0
    for path in paths:
        try:
            print("\n".join(lines_of(path)))
        except EisnaError as err:
            print(f"eisna: error: {err}", file=sys.stderr)
            status = 1
    return status
