"""Input expansion: files, folders (searched recursively) and glob patterns → instrument files.

Folders are data, never a trap: every folder is entered at most once (by device and
inode), so a symlink loop or a self-referencing link is skipped with a
:class:`~eisna.errors.SkippedInputWarning` instead of recursing forever, and a
recursive glob (``d/**/*.mpt``) uses the same walk. A folder that cannot be listed
is returned as :class:`Unreadable` with the reason, so that the batch reports it as a
failed row instead of skipping it silently.
"""

from __future__ import annotations

import errno
import fnmatch
import glob
import os
import stat
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .errors import SkippedInputWarning, UsageError

__all__ = ["Expansion", "Unreadable", "expand_inputs", "expand_paths"]

_MAGIC = frozenset("*?[")


@dataclass(frozen=True)
class Unreadable:
    """A file or folder that could not be examined: ``path`` and the ``reason``."""

    path: str
    reason: str


@dataclass(frozen=True)
class Expansion:
    """The files found (natural order, no duplicates) and the folders that could not be listed."""

    files: list[Path] = field(default_factory=list)
    unreadable: list[Unreadable] = field(default_factory=list)


def _reader_extensions() -> set[str]:
    from .io import list_formats

    return {e.lower() for _name, ext in list_formats() for e in ext}


def expand_paths(paths: Iterable[str | os.PathLike[str]], *, exclude: Path | None = None) -> list[Path]:
    """Files named by ``paths``: files as given, folders searched recursively, globs expanded.

    Folder contents are limited to extensions some reader handles (``.mpt``, ``.mpr``, ``.csv``…)
    and hidden files are skipped; the result is in natural file-name order without duplicates.
    Folders that cannot be listed are left out with a warning (see :func:`expand_inputs`).

    Raises
    ------
    UsageError
        A path that is neither a file, a folder nor a glob with matches.
    """
    found = expand_inputs(paths, exclude=exclude)
    for bad in found.unreadable:
        warnings.warn(f"{bad.path}: {bad.reason}; skipped.", SkippedInputWarning, stacklevel=2)
    return found.files


def expand_inputs(paths: Iterable[str | os.PathLike[str]], *, exclude: Path | None = None) -> Expansion:
    """Like :func:`expand_paths`, but return the folders that could not be listed too.

    Raises
    ------
    UsageError
        A path that is neither a file, a folder nor a glob with matches.
    """
    from .series import natural_key

    walk = _Walk(_reader_extensions(), exclude)
    files: list[Path] = []
    for raw in paths:
        p = Path(raw)
        kind = _kind(p)
        if kind == "loop":
            warnings.warn(
                f"{p}: symlink loop (the link leads back to itself); skipped.",
                SkippedInputWarning,
                stacklevel=2,
            )
        elif kind == "file":
            files.append(p)
        elif kind == "special":
            walk.special(p)
        elif kind == "dir":
            files.extend(walk.files(p, filter_ext=True))
        else:
            n_unreadable = len(walk.unreadable)
            matches = _glob(str(raw), walk)
            if not matches and len(walk.unreadable) == n_unreadable:
                raise UsageError(
                    f"{raw}: no such file or folder, and no file matches it as a pattern. "
                    "Check the path (quote patterns so the shell passes them on)."
                )
            files.extend(matches)
    unique: dict[str, Path] = {}
    for f in files:
        unique.setdefault(os.path.realpath(f), f)
    return Expansion(sorted(unique.values(), key=lambda f: natural_key(str(f))), walk.unreadable)


def _kind(path: Path) -> str:
    """``"file"``, ``"dir"``, ``"loop"`` (a symlink that cannot be resolved: ELOOP) or ``"none"``."""
    try:
        mode = os.stat(path).st_mode
    except OSError as err:
        return "loop" if err.errno == errno.ELOOP else "none"
    if stat.S_ISDIR(mode):
        return "dir"
    return "file" if stat.S_ISREG(mode) else "special"  # a FIFO would block whoever opens it


def _glob(pattern: str, walk: _Walk) -> list[Path]:
    """Glob matches that are files; ``**`` goes through the loop-safe walk."""
    if "**" not in pattern:
        out = []
        for match in map(Path, glob.glob(pattern)):
            kind = _kind(match)
            if kind == "file":
                out.append(match)
            elif kind == "special":
                walk.special(match)
        return out
    parts = Path(pattern).parts
    fixed = 0
    while fixed < len(parts) - 1 and not _MAGIC.intersection(parts[fixed]) and parts[fixed] != "**":
        fixed += 1
    base = Path(*parts[:fixed]) if fixed else Path(".")
    rest = parts[fixed:]
    if _kind(base) != "dir":
        return []
    out = []
    for f in walk.files(base, filter_ext=False):
        if _match(f.relative_to(base).parts if base != Path(".") else f.parts, rest):
            out.append(f)
    return out


def _match(parts: tuple[str, ...], pattern: tuple[str, ...]) -> bool:
    """Glob-style match of path components; ``**`` matches zero or more components."""
    if not pattern:
        return not parts
    if pattern[0] == "**":
        return any(_match(parts[i:], pattern[1:]) for i in range(len(parts) + 1))
    return bool(parts) and fnmatch.fnmatchcase(parts[0], pattern[0]) and _match(parts[1:], pattern[1:])


class _Walk:
    """A recursive folder walk that enters every folder once and records unreadable ones."""

    def __init__(self, extensions: set[str], exclude: Path | None) -> None:
        self.extensions = extensions
        self.exclude = os.path.realpath(exclude) if exclude is not None else None
        self.unreadable: list[Unreadable] = []
        self._reported: set[str] = set()

    def files(self, top: Path, *, filter_ext: bool) -> list[Path]:
        return list(self._walk(top, filter_ext, set()))

    def _walk(self, folder: Path, filter_ext: bool, seen: set[tuple[int, int]]) -> Iterator[Path]:
        try:
            st = os.stat(folder)
        except OSError as err:
            self._unreadable(folder, f"cannot be examined ({err.strerror or err})")
            return
        key = (st.st_dev, st.st_ino)
        if key in seen:
            warnings.warn(
                f"{folder}: symlink loop (this folder is already being searched as "
                f"{os.path.realpath(folder)}); skipped.",
                SkippedInputWarning,
                stacklevel=4,
            )
            return
        if self.exclude is not None and os.path.realpath(folder) == self.exclude:
            return
        seen = seen | {key}  # the folders on the current path: a loop comes back to one of them
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as err:
            self._unreadable(folder, f"folder cannot be listed ({err.strerror or err})")
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(folder, entry.name)
            kind = _kind(path)
            if kind == "loop":
                warnings.warn(
                    f"{path}: symlink loop (the link leads back to itself); skipped.",
                    SkippedInputWarning,
                    stacklevel=4,
                )
            elif kind == "dir":
                yield from self._walk(path, filter_ext, seen)
            elif kind in ("file", "special") and (not filter_ext or path.suffix.lower() in self.extensions):
                if kind == "file":
                    yield path
                else:
                    self.special(path)

    def special(self, path: Path) -> None:
        """Record a FIFO, device or socket as unreadable, with the reason, without opening it."""
        from .errors import ParseError
        from .io._limits import check_file

        try:
            check_file(path)
            reason = "is not a regular file"  # pragma: no cover - it changed under us
        except ParseError as err:
            reason = err.detail
        self._unreadable(path, reason.rstrip("."))

    def _unreadable(self, path: Path, reason: str) -> None:
        if str(path) not in self._reported:
            self._reported.add(str(path))
            self.unreadable.append(Unreadable(str(path), reason))
