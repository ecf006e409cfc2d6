"""Reading limits: what a file must be before eisna reads it, and how much it may hold.

Every reader goes through :func:`check_file` before it opens a file: the path must name
a regular file (after symlinks are followed), so a FIFO, a device (``/dev/zero``) or a
socket is refused before anything could block or grow without bound, and the file's
real size must be within the per-file limit. :func:`read_text_bytes` then reads a text
export in chunks and stops at the first long run of NUL bytes (a sparse or zero-filled
file is not a text export), so memory follows the real content. :func:`check_zip`
bounds the members of a ZIP container (``.ndax``) before anything is extracted.

The limits are process-wide (:func:`set_limits`) and can be overridden for one call
(``eisna.read(path, max_bytes=...)``, CLI ``--max-file-size``).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import stat
import zipfile
from collections.abc import Iterator
from typing import BinaryIO

from ..errors import MissingInputError, ParseError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_ZIP_RATIO",
    "check_file",
    "check_zip",
    "get_limits",
    "limits",
    "open_regular",
    "parse_size",
    "read_text_bytes",
    "set_limits",
]

DEFAULT_MAX_BYTES = 2 * 1024**3  # 2 GiB per file, and per unpacked ZIP container
DEFAULT_MAX_ZIP_RATIO = 200.0  # real .ndax members compress up to ~90:1
_RATIO_FLOOR_BYTES = 1024**2  # the ratio rule applies to members above 1 MiB only
_CHUNK = 1024**2
_NUL_RUN = b"\0" * 4096  # no text export holds 4 KiB of NUL bytes (UTF-16 has single NULs)

_DEFAULTS = {"max_bytes": DEFAULT_MAX_BYTES, "max_zip_ratio": DEFAULT_MAX_ZIP_RATIO}
_process_limits: dict[str, float] = dict(_DEFAULTS)
_override: contextvars.ContextVar[dict[str, float] | None] = contextvars.ContextVar(
    "eisna_read_limits", default=None
)


def get_limits() -> dict[str, float]:
    """The limits in force: ``max_bytes`` (bytes per file) and ``max_zip_ratio``."""
    return {**_process_limits, **(_override.get() or {})}


def set_limits(*, max_bytes: int | None = None, max_zip_ratio: float | None = None) -> dict[str, float]:
    """Set the process-wide reading limits; return the previous ones.

    Parameters
    ----------
    max_bytes : int, optional
        Largest file (bytes) eisna reads, and largest total size of the unpacked
        members of a ZIP container. Default 2 GiB.
    max_zip_ratio : float, optional
        Largest uncompressed/compressed ratio of a ZIP member above 1 MiB. Default 200.
    """
    previous = dict(_process_limits)
    _process_limits.update(_validated(max_bytes, max_zip_ratio))
    return previous


@contextlib.contextmanager
def limits(*, max_bytes: int | None = None, max_zip_ratio: float | None = None) -> Iterator[None]:
    """Override the limits inside a ``with`` block (this thread/context only)."""
    token = _override.set({**(_override.get() or {}), **_validated(max_bytes, max_zip_ratio)})
    try:
        yield
    finally:
        _override.reset(token)


def _validated(max_bytes: int | None, max_zip_ratio: float | None) -> dict[str, float]:
    out: dict[str, float] = {}
    if max_bytes is not None:
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
            raise ValueError(f"max_bytes must be a positive integer (bytes); got {max_bytes!r}")
        out["max_bytes"] = max_bytes
    if max_zip_ratio is not None:
        if not max_zip_ratio >= 1:
            raise ValueError(f"max_zip_ratio must be a number >= 1; got {max_zip_ratio!r}")
        out["max_zip_ratio"] = float(max_zip_ratio)
    return out


def parse_size(text: str) -> int:
    """Parse a size such as ``"500M"``, ``"2G"``, ``"4GiB"`` or ``"1048576"`` into bytes."""
    units = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
    value = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = value[-1:] if value[-1:] in units and value[-1:] else ""
    number = value[: len(value) - len(unit)].strip()
    try:
        size = float(number) * units[unit]
    except ValueError:
        raise ValueError(f"expected a size like 500M, 2G or 1048576; found {text!r}") from None
    if not size >= 1:
        raise ValueError(f"a size must be at least 1 byte; found {text!r}")
    return int(size)


def _human(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"  # pragma: no cover


def check_file(path: str | os.PathLike[str]) -> int:
    """Check that ``path`` is a regular file within the size limit; return its size in bytes.

    Nothing is opened: the check uses :func:`os.stat` on the path with symlinks followed.

    Raises
    ------
    ParseError
        Missing; a folder; a FIFO, device or socket; or larger than ``max_bytes``.
    """
    where = str(path)
    try:
        st = os.stat(path)
    except FileNotFoundError as err:
        raise MissingInputError(where, "file not found.", hint="Check the path.") from err
    except OSError as err:
        raise ParseError(where, f"cannot be examined ({err.strerror or err}).") from err
    if stat.S_ISDIR(st.st_mode):
        raise ParseError(where, "is a folder, not a file.")
    if not stat.S_ISREG(st.st_mode):
        kind = (
            "a FIFO (named pipe)"
            if stat.S_ISFIFO(st.st_mode)
            else "a device"
            if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
            else "a socket"
            if stat.S_ISSOCK(st.st_mode)
            else "not a regular file"
        )
        target = os.path.realpath(path)
        shown = f" ({target})" if target != os.path.abspath(path) else ""
        raise ParseError(
            where,
            f"is {kind}{shown}; expected a regular file.",
            hint="eisna reads instrument files only; copy the data to a file first.",
        )
    max_bytes = get_limits()["max_bytes"]
    if st.st_size > max_bytes:
        raise ParseError(
            where,
            f"is {_human(st.st_size)}; the per-file limit is {_human(max_bytes)}.",
            hint="Raise it with --max-file-size (CLI) or eisna.io.set_limits(max_bytes=...).",
        )
    return int(st.st_size)


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """Open ``path`` for binary reading without ever blocking, and only if it is a regular file.

    The file is opened non-blocking (a FIFO swapped in after :func:`check_file` does not
    block) and checked again with :func:`os.fstat` on the open descriptor.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ParseError(str(path), "is not a regular file; expected an instrument file.")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_text_bytes(path: str | os.PathLike[str]) -> bytes:
    """Read a text export after :func:`check_file`, refusing long runs of NUL bytes.

    Raises
    ------
    ParseError
        As :func:`check_file`; unreadable; or 4 KiB of NUL bytes (a sparse or
        zero-filled file), with the byte offset.
    """
    where = str(path)
    check_file(path)
    chunks: list[bytes] = []
    done = 0
    try:
        with open_regular(path) as fh:
            tail = b""
            while chunk := fh.read(_CHUNK):
                window = tail + chunk
                at = window.find(_NUL_RUN)
                if at >= 0:
                    raise ParseError(
                        where,
                        "holds a run of NUL bytes; expected text. The file is zero-filled, "
                        "sparse or binary, not a text export.",
                        offset=done - len(tail) + at,
                        hint="Re-export the data from the instrument software.",
                    )
                chunks.append(chunk)
                done += len(chunk)
                if done > get_limits()["max_bytes"]:  # it grew while being read
                    raise ParseError(where, "grew beyond the per-file limit while being read.")
                tail = chunk[-len(_NUL_RUN) :]
    except IsADirectoryError as err:  # pragma: no cover - check_file catches it first
        raise ParseError(where, "is a folder, not a file.") from err
    except OSError as err:
        raise ParseError(where, f"cannot be read ({err.strerror or err}).") from err
    return b"".join(chunks)


def check_zip(path: str | os.PathLike[str]) -> None:
    """Bound a ZIP container before extraction: declared sizes, ratios, and actual sizes.

    Every member's declared size, the total, and each member's compression ratio
    (members above 1 MiB) are checked against the limits; then each member is
    decompressed in 1 MiB chunks, without keeping them, and stopped as soon as it
    yields more than it declared.

    Raises
    ------
    ParseError
        Not a ZIP archive, or a member that breaks a limit (a "zip bomb").
    """
    where = str(path)
    lim = get_limits()
    hint = "The archive may be corrupt or hostile; raise the limits only for a file you trust."
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            total = sum(m.file_size for m in members)
            if total > lim["max_bytes"]:
                raise ParseError(
                    where,
                    f"ZIP members declare {_human(total)} unpacked; the limit is {_human(lim['max_bytes'])}.",
                    hint=hint,
                )
            for m in members:
                ratio = m.file_size / max(m.compress_size, 1)
                if m.file_size > _RATIO_FLOOR_BYTES and ratio > lim["max_zip_ratio"]:
                    raise ParseError(
                        where,
                        f"ZIP member {m.filename!r} expands {ratio:.0f}:1 ({_human(m.compress_size)} → "
                        f"{_human(m.file_size)}); the limit is {lim['max_zip_ratio']:.0f}:1 (a zip bomb?).",
                        hint=hint,
                    )
            for m in members:
                _check_member(where, archive, m, hint)
    except ParseError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError) as err:
        if isinstance(err, zipfile.BadZipFile) and "not a zip file" in str(err) and _starts_like_zip(path):
            # the member list sits at the end of a ZIP: a copy cut short starts right but lacks it
            raise ParseError(
                where,
                f"starts like a ZIP archive (.ndax, .xlsx) but its end is missing ({err}): the file "
                "looks truncated.",
                hint="Copy it again from the instrument PC, or export it again.",
            ) from err
        raise ParseError(where, f"is not a readable ZIP archive ({err}).", hint=hint) from err


def _starts_like_zip(path: str | os.PathLike[str]) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"PK\x03\x04"
    except OSError:
        return False


def _check_member(where: str, archive: zipfile.ZipFile, member: zipfile.ZipInfo, hint: str) -> None:
    """Decompress one member in chunks; refuse it when it yields more than it declared."""
    produced = 0
    with archive.open(member) as fh:
        while chunk := fh.read(_CHUNK):
            produced += len(chunk)
            if produced > member.file_size:
                raise ParseError(
                    where,
                    f"ZIP member {member.filename!r} unpacks to more than its declared "
                    f"{_human(member.file_size)}.",
                    hint=hint,
                )
