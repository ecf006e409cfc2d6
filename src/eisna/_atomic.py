"""Files written whole or not at all: one atomic-write helper, file digests, output sets, a lock.

* :func:`write_atomic`: temporary file in the target's folder, then ``os.replace`` (used for every
  output eisna writes: the batch outputs, the report, the resume cache).
* :func:`file_sha256`: SHA-256 of a file's bytes (``hashlib.file_digest``).
* :class:`OutputSet`: several files that replace the previous set together. They are written
  into a staging folder inside the output folder; a ``COMMITTED`` marker is written last, then
  the files are renamed into place. :func:`recover` (run at the start of the next batch) finishes
  a committed set whose renames a kill interrupted and deletes an uncommitted one, so the folder
  holds the previous complete set or the new one.
* :class:`FolderLock`: one batch per output folder (``fcntl.flock`` on ``.eisna-lock`` holding
  the PID; ``O_EXCL`` with a dead-PID check where ``fcntl`` is missing).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import secrets
import shutil
import socket
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .errors import OutputError, OutputLockedError

__all__ = ["FolderLock", "OutputSet", "check_output_folder", "file_sha256", "recover", "write_atomic"]

STAGE_PREFIX = ".eisna-stage-"
LOCK_NAME = ".eisna-lock"
COMMIT_MARKER = "COMMITTED"
TMP_SUFFIX = ".tmp"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _file_mode()


def _write_bytes(fh: Any, data: bytes) -> None:
    """The one place bytes reach a file (tests patch it to simulate a full disk)."""
    fh.write(data)


def write_atomic(path: str | os.PathLike[str], data: str | bytes, *, fsync: bool = True) -> Path:
    """Write ``data`` to ``path`` through ``.<name>.<random>.tmp`` in the same folder and a rename.

    The file gets the ordinary mode (0666 minus the umask). On any error the temporary file is
    removed and ``path`` keeps its previous content. ``fsync`` flushes the data to the disk
    before the rename (outputs); the resume cache skips it.
    """
    return write_atomic_chunks(path, [data], fsync=fsync)


def write_atomic_chunks(
    path: str | os.PathLike[str], chunks: Iterable[str | bytes], *, fsync: bool = True
) -> Path:
    """:func:`write_atomic` for data made piece by piece (text is UTF-8 encoded): a large joined
    table is written without ever being held whole."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}{TMP_SUFFIX}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _FILE_MODE)
        with os.fdopen(fd, "wb") as fh:
            for chunk in chunks:
                _write_bytes(fh, chunk.encode("utf-8") if isinstance(chunk, str) else chunk)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 hex digest of a file's bytes."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _describe(err: OSError, where: Path) -> str:
    if err.errno == errno.ENOSPC:
        return f"{where}: no space left on the device; free some space and run the batch again"
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{where}: not writable ({err.strerror}); choose another --out folder"
    return f"{where}: cannot be written ({err.strerror or err}); check the --out folder"


class OutputSet:
    """Files that replace the previous outputs of a folder together (see the module docstring).

    Use as ``with OutputSet(out) as s: s.add("results.csv", text); s.path("report.html")`` —
    the set is committed when the block ends without an error and discarded otherwise.
    """

    def __init__(self, out_dir: str | os.PathLike[str]) -> None:
        self.out_dir = Path(out_dir)
        self.stage = self.out_dir / f"{STAGE_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
        self.names: list[str] = []

    def __enter__(self) -> OutputSet:
        try:
            self.stage.mkdir(parents=True)
        except OSError as err:
            raise OutputError(_describe(err, self.out_dir)) from err
        return self

    def path(self, name: str) -> Path:
        """Where to write ``name`` in the staging folder (for writers that take a folder)."""
        if name not in self.names:
            self.names.append(name)
        return self.stage / name

    def add(self, name: str, data: str | bytes) -> None:
        """Stage one file of the set."""
        try:
            write_atomic(self.path(name), data)
        except OSError as err:
            raise OutputError(_describe(err, self.out_dir / name)) from err

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            shutil.rmtree(self.stage, ignore_errors=True)
            return
        try:
            present = [n for n in self.names if (self.stage / n).is_file()]
            write_atomic(self.stage / COMMIT_MARKER, json.dumps({"files": present}))
            _fsync_dir(self.stage)
        except OSError as err:
            shutil.rmtree(self.stage, ignore_errors=True)
            raise OutputError(_describe(err, self.out_dir)) from err
        _finish(self.stage, self.out_dir)


def _finish(stage: Path, out_dir: Path, allowed: set[str] | None = None) -> None:
    """Move a committed set into place (idempotent: files already moved are skipped); with
    ``allowed``, only files of those names."""
    marker = json.loads((stage / COMMIT_MARKER).read_text(encoding="utf-8"))
    for name in marker.get("files", []):
        if not isinstance(name, str) or "/" in name or name.startswith("."):
            continue
        if allowed is not None and name not in allowed:
            continue
        src = stage / name
        if src.is_file() and not src.is_symlink():
            os.replace(src, out_dir / name)
    _fsync_dir(out_dir)
    shutil.rmtree(stage, ignore_errors=True)


def recover(out_dir: str | os.PathLike[str], output_names: Iterable[str] = ()) -> None:
    """Finish or discard output sets an interrupted batch left in ``out_dir``; remove stray
    temporary files of ``output_names`` (``.results.csv.1a2b3c4d.tmp``…)."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return
    names = set(output_names)
    for entry in out_dir.iterdir():
        if entry.name.startswith(STAGE_PREFIX) and entry.is_dir() and not entry.is_symlink():
            try:
                if (entry / COMMIT_MARKER).is_file():
                    _finish(entry, out_dir, names)
                    continue
            except (OSError, ValueError):
                pass
            shutil.rmtree(entry, ignore_errors=True)
        elif entry.name.startswith(".") and entry.is_file() and _is_stray_temp(entry.name, names):
            entry.unlink(missing_ok=True)


def _is_stray_temp(name: str, outputs: set[str]) -> bool:
    for out in outputs:
        head = f".{out}."
        if name.startswith(head):
            rest = name[len(head) :]
            # this module's temp files, and the mkstemp names of earlier versions
            if rest.endswith(TMP_SUFFIX) or (len(rest) == 8 and rest.replace("_", "").isalnum()):
                return True
    return False


def check_output_folder(out_dir: str | os.PathLike[str]) -> Path:
    """Create ``out_dir`` if needed and make sure files can be created in it.

    Raises
    ------
    OutputError
        ``out_dir`` is a file, cannot be created, or is not writable.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out}: is a file, not a folder; give a folder name for the outputs")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(
            f"--out {out}: cannot be created ({err.strerror or err}); choose a folder you can write to"
        ) from err
    probe = out / f".eisna-probe-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        probe.unlink()
    except OSError as err:
        raise OutputError(
            f"--out {out}: not writable ({err.strerror or err}); choose a folder you can write to"
        ) from err
    return out


class FolderLock:
    """Exclusive use of an output folder by one batch (``.eisna-lock`` with the PID inside).

    With ``fcntl`` the lock is a ``flock`` on the file: the kernel releases it when the holder
    dies, so a lock file left by a killed batch is never mistaken for a live one. Without
    ``fcntl`` the file is created with ``O_EXCL`` and a lock whose PID no longer runs on this
    host is taken over.
    """

    def __init__(self, out_dir: str | os.PathLike[str]) -> None:
        self.path = Path(out_dir) / LOCK_NAME
        self._fd: int | None = None

    def _holder(self) -> str:
        try:
            info = json.loads(self.path.read_text(encoding="utf-8"))
            return f"PID {int(info['pid'])} on {info.get('host', '?')}, started {info.get('started', '?')}"
        except (OSError, ValueError, KeyError, TypeError):
            return "another process"

    def _refuse(self) -> OutputLockedError:
        return OutputLockedError(
            f"{self.path.parent}: another eisna batch is writing to this folder ({self._holder()}); "
            f"wait for it to finish or choose another --out (if no batch runs, delete {self.path})"
        )

    def _record(self, fd: int) -> None:
        from datetime import UTC, datetime

        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(info).encode())

    def acquire(self) -> FolderLock:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            return self._acquire_excl()
        for _ in range(10):
            try:  # never through a symbolic link: the lock file is truncated and written
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | _NOFOLLOW, 0o644)
            except OSError as err:
                if err.errno == errno.ELOOP:
                    raise OutputError(
                        f"{self.path}: is a symbolic link; delete it and run the batch again"
                    ) from err
                raise OutputError(_describe(err, self.path.parent)) from err
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as err:
                os.close(fd)
                if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise self._refuse() from None
                raise OutputError(_describe(err, self.path.parent)) from err
            try:  # the file may have been unlinked by its previous holder meanwhile
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except OSError:
                same = False
            if same:
                self._record(fd)
                self._fd = fd
                return self
            os.close(fd)
        raise self._refuse()

    def _acquire_excl(self) -> FolderLock:  # pragma: no cover - exercised where fcntl is missing
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o644)
            except FileExistsError:
                if self._stale():
                    self.path.unlink(missing_ok=True)
                    continue
                raise self._refuse() from None
            self._record(fd)
            self._fd = fd
            return self
        raise self._refuse()

    def _stale(self) -> bool:
        try:
            info = json.loads(self.path.read_text(encoding="utf-8"))
            pid, host = int(info["pid"]), info.get("host")
        except (OSError, ValueError, KeyError, TypeError):
            return False
        if host != socket.gethostname():
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except OSError:
            return False
        return False

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)
        finally:
            os.close(self._fd)  # closing releases the flock
            self._fd = None

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
