"""Attribute third-party notices to the file they concern.

Libraries used by the readers (fastnda, openpyxl, pandas) warn or log about the file being
read without naming it, and Python prints their warnings with an internal source line.
:func:`attributed` collects them while one file is read and re-issues each as a one-line
:class:`~eisna.errors.MetadataWarning` starting with the file's path; eisna's own warnings,
and deprecation notices meant for developers, pass through unchanged.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator, Sequence

from ..errors import EisnaWarning, MetadataWarning

__all__ = ["attributed"]

_DEVELOPER = (DeprecationWarning, PendingDeprecationWarning, FutureWarning, ImportWarning, ResourceWarning)


def _package(filename: str) -> str:
    """The top-level package a warning came from (``openpyxl`` for .../site-packages/openpyxl/...)."""
    parts = os.path.normpath(filename).split(os.sep)
    for marker in ("site-packages", "dist-packages"):
        if marker in parts and parts.index(marker) + 1 < len(parts):
            return parts[parts.index(marker) + 1].removesuffix(".py")
    return os.path.basename(filename).removesuffix(".py") or "python"


@contextlib.contextmanager
def attributed(path: str | os.PathLike[str], *, loggers: Sequence[str] = ()) -> Iterator[None]:
    """Collect warnings (and log records of ``loggers``) while reading ``path``; re-issue them.

    Log records at WARNING and above become ``"{path}: {logger}: {message}"`` warnings
    (a logged traceback is reduced to its message); third-party warnings become
    ``"{path}: {package}: {message}"``; each distinct text once.
    """
    records: list[logging.LogRecord] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = _Collect(logging.WARNING)
    saved = []
    for name in loggers:
        logger = logging.getLogger(name)
        saved.append((logger, logger.propagate))
        logger.addHandler(handler)
        logger.propagate = False
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    finally:
        for logger, propagate in saved:
            logger.removeHandler(handler)
            logger.propagate = propagate
        _reissue(str(path), records, caught)


def _reissue(path: str, records: list[logging.LogRecord], caught: list[warnings.WarningMessage]) -> None:
    notices: dict[str, None] = {}
    for record in records:
        text = " ".join(record.getMessage().split())
        if text:
            notices[f"{path}: {record.name.split('.')[0]}: {text}"] = None
    for w in caught:
        if issubclass(w.category, (EisnaWarning, *_DEVELOPER)):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            continue
        text = " ".join(str(w.message).split())
        if text.startswith(path):  # already names the file
            notices[text] = None
        else:
            notices[f"{path}: {_package(w.filename)}: {text}"] = None
    for text in notices:
        warnings.warn(text, MetadataWarning, stacklevel=5)
