"""Reader registry: pick a reader by content first, then by file extension.

Each reader is a module in :mod:`eisna.io` that defines

``NAME`` : str
    Short format name shown to users (``"biologic-mpt"``).
``EXTENSIONS`` : tuple of str
    Lower-case suffixes with the dot (``(".mpt",)``), used only when no reader
    recognises the content.
``sniff(head: bytes) -> bool``
    Cheap check on the first :data:`SNIFF_BYTES` bytes of the file.
``sniff_fallback(head: bytes) -> bool`` (optional)
    Asked only when no ``sniff`` and no extension matched (the generic table claims
    extension-less CSV text and renamed workbooks this way).
``read(path, **options) -> list[Spectrum]``
    Every spectrum in the file, in acquisition order.
``read_cycling(path, **options) -> pandas.DataFrame`` (optional)
    Cycling data with the common columns (see :func:`eisna.read_cycling`).
``CELL_POTENTIALS`` : tuple of str (optional)
    Set by readers whose ``read_cycling`` takes ``potential=`` (EC-Lab: ``("Ewe", "Ewe-Ece")``);
    :func:`eisna.read_cycling` refuses a forced ``potential`` for the others.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import EisnaError, ParseError, UnsupportedFormatError
from ._limits import check_file, limits, open_regular
from ._notices import attributed

__all__ = ["READER_MODULES", "SNIFF_BYTES", "call_reader", "find_reader", "list_formats"]

SNIFF_BYTES = 4096

# Order matters: specific magic bytes before permissive text sniffers.
READER_MODULES: tuple[str, ...] = (
    "eisna.io.biologic_mpr",
    "eisna.io.biologic_mpt",
    "eisna.io.neware_nda",
    "eisna.io.neware_csv",
    "eisna.io.palmsens",
    "eisna.io.zahner",
    "eisna.io.gamry",
    "eisna.io.zview",
    "eisna.io.ivium",
    "eisna.io.autolab_dfr",
    "eisna.io.versastudio",
    "eisna.io.p00",
    "eisna.io.json_table",
    "eisna.io.elchemea_i2b",
    "eisna.io.table",
    # Vendor text exports, recognised by content only. They sit after "table" so that an
    # unrecognised .txt falls back to the generic table by its extension (table.sniff is
    # always False, so their sniffers still run before any extension fallback).
    "eisna.io.chi",
    "eisna.io.parstat",
    "eisna.io.autolab_text",
    "eisna.io.relaxis",
    "eisna.io.novocontrol",
)


# Instrument files that travel with the data but hold none: (first bytes, what the file is,
# what to read instead). Said by name rather than "no reader recognises this file".
_COMPANION_FILES: tuple[tuple[bytes, str, str], ...] = (
    (
        b"EC-Lab LOG FILE",
        "an EC-Lab log file (.mpl): the run's settings, without its data points",
        "Read the .mpr file of the same name, or export it from EC-Lab as text (.mpt).",
    ),
    (
        b"EC-LAB SETTING FILE",
        "an EC-Lab settings file (.mps): a technique programme, without data points",
        "Read the .mpr file the run produced, or export it from EC-Lab as text (.mpt).",
    ),
    (
        b"VMP EXPERIMENT LOOP INDEXES",
        "an EC-Lab loop index file (_LOOP.txt): the first point of each loop, no data",
        "Read the .mpr or .mpt file of the same name; eisna splits its loops itself.",
    ),
)


def _companion(path: Path, head: bytes) -> None:
    """Raise :class:`UnsupportedFormatError` naming a known data-less companion file."""
    start = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    for signature, what, hint in _COMPANION_FILES:
        if start[: len(signature)].upper() == signature.upper():
            raise UnsupportedFormatError(path, f"this is {what}.", hint=hint)


def _modules() -> list[ModuleType]:
    return list(_iter_modules())


def _iter_modules() -> Iterator[ModuleType]:
    """The reader modules in order, each imported only when reached (start-up stays short)."""
    for name in READER_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name != name:  # a real missing dependency inside the reader
                raise
            continue
        yield module


def list_formats() -> list[tuple[str, tuple[str, ...]]]:
    """Return ``(name, extensions)`` for every registered reader."""
    return [(m.NAME, tuple(m.EXTENSIONS)) for m in _modules()]


def _head(path: Path) -> bytes:
    check_file(path)  # a regular file within the size limit, checked before it is opened
    try:
        with open_regular(path) as fh:  # and again on the open descriptor, never blocking
            return fh.read(SNIFF_BYTES)
    except FileNotFoundError as err:
        raise ParseError(path, "file not found.", hint="Check the path.") from err
    except IsADirectoryError as err:
        raise ParseError(path, "is a folder, not a file.") from err
    except OSError as err:
        raise ParseError(path, f"cannot be opened ({err.strerror}).") from err


def find_reader(path: str | os.PathLike[str], *, need: str = "read") -> ModuleType:
    """Return the reader module for ``path``.

    Parameters
    ----------
    path : str or PathLike
        The file.
    need : {"read", "read_cycling"}
        The function the reader must provide.

    Raises
    ------
    ParseError
        The file is missing or empty.
    UnsupportedFormatError
        No reader recognises the content or the extension, or the file is a known
        companion file without data (an EC-Lab ``.mpl`` log, ``.mps`` settings or
        ``_LOOP.txt`` loop index file).
    """
    path = Path(path)
    head = _head(path)
    if not head:
        raise ParseError(path, "the file is empty; expected an instrument export.")
    for mod in _iter_modules():  # by content, importing readers one by one until one knows it
        if hasattr(mod, need) and mod.sniff(head):
            return mod
    _companion(path, head)
    mods = [m for m in _modules() if hasattr(m, need)]
    suffix = path.suffix.lower()
    for mod in mods:
        if suffix in mod.EXTENSIONS:
            return mod
    for mod in mods:  # a table or workbook saved without (or under a foreign) extension
        fallback = getattr(mod, "sniff_fallback", None)
        if fallback is not None and fallback(head):
            return mod
    known = ", ".join(f"{m.NAME} ({'/'.join(m.EXTENSIONS)})" for m in mods)
    raise UnsupportedFormatError(
        path,
        f"no reader recognises this file's content or its extension {suffix!r}.",
        hint=f"Known formats: {known}. For a plain table use eisna.io.table.read(path, columns=...).",
    )


def call_reader(func: Callable[..., Any], path: str | os.PathLike[str], **options: Any) -> Any:
    """Call a reader function, turning any stray exception into a :class:`ParseError`.

    Readers raise precise :class:`EisnaError` subclasses themselves; this net makes
    sure that arbitrary bytes can never leak a ``struct.error`` or ``IndexError``.
    Third-party warnings raised while reading are re-issued naming the file
    (:func:`eisna.io._notices.attributed`). ``max_bytes=`` and ``max_zip_ratio=`` set the
    reading limits for this call only (see :func:`eisna.io.set_limits`).
    """
    bounds = {k: options.pop(k) for k in ("max_bytes", "max_zip_ratio") if k in options}
    try:
        with limits(**bounds), attributed(path):  # library warnings name the file they concern
            return func(path, **options)
    except EisnaError:
        raise
    except MemoryError as err:
        raise ParseError(path, "the file claims more data than can be held in memory.") from err
    except Exception as err:
        raise ParseError(
            path,
            f"could not be parsed ({type(err).__name__}: {err}).",
            hint="The file may be truncated or corrupt; re-export it from the instrument software.",
        ) from err
