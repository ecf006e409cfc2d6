"""Neware binary files: ``.nda`` (BTS 6.x–7.x and 9.x) and ``.ndax`` (BTS 8.x), via fastnda.

The binary layouts are decoded by `fastnda <https://github.com/EmpaEconversion/fastnda>`_
(BSD-3-Clause); this module converts its output to eisna's common cycling columns in SI
units. Neware cyclers record no impedance, so :func:`read` always raises
:class:`~eisna.errors.NoImpedanceData`.

Timestamps: the binary files store UTC epoch seconds (older ``.nda`` versions store a start
time that fastnda takes as UTC), so ``timestamp`` is timezone-aware UTC. BTS text exports
write naive local time instead (see :mod:`eisna.io.neware_csv`).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import (
    EisnaError,
    MetadataWarning,
    NoImpedanceData,
    ParseError,
    TruncatedDataWarning,
)
from ._limits import check_file, check_zip
from ._notices import attributed

if TYPE_CHECKING:
    import pandas as pd

    from ..spectrum import Spectrum

__all__ = ["CYCLING_COLUMNS", "EXTENSIONS", "NAME", "cycling_overview", "read", "read_cycling", "sniff"]

_T = TypeVar("_T")

NAME = "neware-nda"
EXTENSIONS = (".nda", ".ndax")

#: The common cycling columns every cycling reader returns first, in this order.
CYCLING_COLUMNS = (
    "time_s",
    "voltage_V",
    "current_A",
    "capacity_Ah",
    "cycle",
    "step",
    "step_type",
    "timestamp",
)

_NDA_MAGIC = b"NEWARE"
_ZIP_MAGIC = b"PK\x03\x04"
# Member names of an ndax archive; ZIP local headers put the first names in the first 4 KiB.
_NDAX_MEMBERS = (b".ndc", b"TestInfo.xml", b"VersionInfo.xml", b"Step.xml")

NO_EIS_MESSAGE = (
    "holds Neware cycling data and no impedance spectra (Neware cyclers record no EIS); "
    "expected an impedance file. Use eisna.read_cycling(path) for the cycling data."
)


def sniff(head: bytes) -> bool:
    """Return True for an ``.nda`` (magic ``NEWARE``) or an ``.ndax`` (ZIP with ``.ndc`` members)."""
    if head.startswith(_NDA_MAGIC):
        return True
    return head.startswith(_ZIP_MAGIC) and any(name in head for name in _NDAX_MEMBERS)


def read(path: str | os.PathLike[str], **options: Any) -> list[Spectrum]:
    """Raise :class:`~eisna.errors.NoImpedanceData`: Neware binaries hold cycling data only.

    Raises
    ------
    ParseError
        The file is missing or is not a Neware binary.
    NoImpedanceData
        Always, for a valid Neware file.
    """
    _kind(Path(path))  # a missing or foreign file is a ParseError, not "no impedance"
    raise NoImpedanceData(f"{path}: {NO_EIS_MESSAGE}")


def _kind(path: Path) -> str:
    """Return ``".nda"`` or ``".ndax"`` from the magic bytes (the extension may be wrong)."""
    check_file(path)  # a regular file within the size limit, before it is opened
    try:
        with path.open("rb") as fh:
            head = fh.read(4096)
    except OSError as err:
        raise ParseError(path, f"cannot be opened ({err.strerror or err}).", hint="Check the path.") from err
    if head.startswith(_NDA_MAGIC):
        return ".nda"
    if head.startswith(_ZIP_MAGIC):
        return ".ndax"
    found = head[:8].hex(" ") if head else "an empty file"
    raise ParseError(
        path,
        "is not a Neware binary; expected the magic 'NEWARE' (.nda) or a ZIP archive (.ndax), "
        f"found {found}.",
        offset=0,
        hint="Pass a Neware .nda/.ndax file, or a BTS CSV/XLSX export.",
    )


def _fastnda_read(path: Path, kind: str, cycle_mode: str) -> Any:
    """Call ``fastnda.read`` with its notices attributed to ``path`` and short records watched."""
    with attributed(path, loggers=("fastnda",)), _watch_records(path):
        return _fastnda_call(path, kind, cycle_mode)


@contextlib.contextmanager
def _watch_records(path: Path) -> Iterator[None]:
    """Warn with :class:`TruncatedDataWarning` when fastnda finds fewer record bytes than declared.

    fastnda reads ``min(declared, available)`` bytes of records and silently ignores a
    partial last record; this watches its record reader (``fastnda.nda._get_arr_from_nda``,
    when present) and says so.
    """
    try:
        from fastnda import nda as fastnda_nda
    except ImportError:  # pragma: no cover - fastnda without that module
        yield
        return
    original = getattr(fastnda_nda, "_get_arr_from_nda", None)
    find = getattr(fastnda_nda, "_find_header", None)
    if original is None or find is None:  # pragma: no cover - another fastnda version
        yield
        return
    short: list[str] = []

    def watched(mm: Any, header: Any, record_len: int, data_len: int = 0) -> Any:
        try:
            available = len(mm) - find(mm, header)
        except Exception:  # fastnda raises its own message below
            available = None
        if available is not None and data_len and data_len > available:
            short.append(f"the header declares {data_len} bytes of records, the file holds {available}")
        elif available is not None and not data_len and available > 0 and available % record_len:
            short.append(f"the last record is cut ({available % record_len} of {record_len} bytes)")
        return original(mm, header, record_len, data_len)

    fastnda_nda._get_arr_from_nda = watched
    try:
        yield
    finally:
        fastnda_nda._get_arr_from_nda = original
    if short:
        warnings.warn(
            f"{path}: the file looks truncated: {'; '.join(short)}. The complete records are read "
            "(frame.attrs['truncated'] = True); re-export the file if the test finished.",
            TruncatedDataWarning,
            stacklevel=4,
        )


def _fastnda_call(path: Path, kind: str, cycle_mode: str) -> Any:
    """Call ``fastnda.read``; it picks the format by suffix, so link mislabelled files."""
    import fastnda

    if path.suffix.lower() == kind:
        return fastnda.read(path, cycle_mode=cycle_mode)
    with tempfile.TemporaryDirectory(prefix="eisna-nda-") as tmp:
        alias = Path(tmp) / f"data{kind}"
        try:
            alias.symlink_to(path.resolve())
        except OSError:  # no symlinks (some Windows setups): copy instead
            import shutil

            shutil.copyfile(path, alias)
        return fastnda.read(alias, cycle_mode=cycle_mode)


def read_cycling(path: str | os.PathLike[str], *, cycle_mode: str = "chg") -> pd.DataFrame:
    """Read a Neware ``.nda``/``.ndax`` file into eisna's common cycling columns.

    Parameters
    ----------
    path : str or PathLike
        A ``.nda`` (versions 8, 22, 26, 29, 130) or ``.ndax`` (ndc 2–17) file.
    cycle_mode : {"chg", "dchg", "auto", "raw"}
        How fastnda numbers cycles: ``"raw"`` keeps the instrument's count, the others
        regenerate it (a cycle starts with a charge, a discharge, or the first non-rest step).

    Returns
    -------
    pandas.DataFrame
        One row per record: ``time_s`` (total test time, s), ``voltage_V`` (V), ``current_A``
        (A, + = charge), ``capacity_Ah`` (Ah, charge − discharge within the step), ``cycle``,
        ``step`` (program step index), ``step_type`` (``"CC_Chg"``, ``"Rest"``, …) and
        ``timestamp`` (UTC, timezone-aware). Extra columns: ``record_index``, ``step_count``
        (running step number), ``step_time_s``, ``energy_Wh`` and fastnda's auxiliary
        channels (``aux1_temperature_degC``, …). A file that logged no records (e.g. an
        aborted test) gives an empty frame with these columns.

    Raises
    ------
    ParseError
        The file is not a Neware binary, or fastnda cannot decode it (truncated, corrupt,
        unsupported version); the message names the file.
    """
    path = Path(path)
    frame, truncated = _decode(path, cycle_mode, _to_common)
    frame.attrs["truncated"] = truncated
    return frame


def cycling_overview(path: str | os.PathLike[str], *, cycle_mode: str = "chg") -> tuple[int, datetime | None]:
    """Return the number of cycling rows and the test start, without building the pandas frame.

    What ``eisna info`` prints, with the checks and warnings of :func:`read_cycling` but
    without importing pandas (start-up time).

    Returns
    -------
    (int, datetime or None)
        The row count of :func:`read_cycling`'s frame, and the first record's timestamp
        (UTC) minus its ``time_s`` (s); None without records or with an impossible timestamp.
    """
    return _decode(Path(path), cycle_mode, _overview)[0]


def _overview(path: Path, frame: Any) -> tuple[int, datetime | None]:
    """Row count and start (UTC) of fastnda's polars frame, as :func:`_to_common` would give them."""
    import numpy as np

    n = int(frame.height)
    if not n or "unix_time_s" not in frame.columns or "total_time_s" not in frame.columns:
        return n, None
    unix_s = frame["unix_time_s"].to_numpy().astype(np.float64)
    lost = int(np.count_nonzero(np.isfinite(unix_s) & ((unix_s < _MIN_UNIX_S) | (unix_s > _MAX_UNIX_S))))
    if lost:
        _warn_lost(path, lost)
    first, elapsed = float(unix_s[0]), float(frame["total_time_s"][0])
    if not (np.isfinite(first) and _MIN_UNIX_S <= first <= _MAX_UNIX_S):
        return n, None
    stamp = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=round(first * 1e6))
    return n, stamp - timedelta(seconds=elapsed)


# pandas' nanosecond timestamps span 1677-09-21 to 2262-04-11 (unix seconds)
_MIN_UNIX_S, _MAX_UNIX_S = -9223372036.854775, 9223372036.854775


def _decode(path: Path, cycle_mode: str, convert: Callable[[Path, Any], _T]) -> tuple[_T, bool]:
    """Decode ``path`` with fastnda and ``convert(path, polars_frame)``; also whether it was cut short."""
    kind = _kind(path)
    if kind == ".ndax":
        check_zip(path)  # declared and actual member sizes and ratios, before fastnda unpacks it
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = convert(path, _fastnda_read(path, kind, cycle_mode))
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return result, any(issubclass(w.category, TruncatedDataWarning) for w in caught)
    except EisnaError:
        raise
    except MemoryError as err:
        raise ParseError(path, "the file claims more records than can be held in memory.") from err
    except Exception as err:  # fastnda raises anything on corrupt bytes
        raise ParseError(
            path,
            f"fastnda could not decode this Neware {kind} file ({type(err).__name__}: {err}).",
            hint="The file may be truncated, corrupt or of an unsupported version; "
            "re-export it from BTS or export a CSV from BTSDA.",
        ) from err


def _to_common(path: Path, frame: Any) -> pd.DataFrame:
    """Convert fastnda's polars frame (mA, mAh, unix s) to the common SI pandas frame."""
    import numpy as np
    import pandas as pd

    def col(name: str, dtype: Any = np.float64) -> np.ndarray:
        if name not in frame.columns:
            return np.full(frame.height, np.nan)
        return frame[name].to_numpy().astype(dtype)

    step_type = (
        frame["step_type"].cast(str).to_numpy().astype(object)
        if "step_type" in frame.columns
        else np.full(frame.height, None, dtype=object)
    )
    data: dict[str, Any] = {
        "time_s": col("total_time_s"),
        "voltage_V": col("voltage_V"),
        "current_A": col("current_mA") * 1e-3,
        "capacity_Ah": col("capacity_mAh") * 1e-3,
        "cycle": col("cycle_count", np.int64),
        "step": col("step_index", np.int64),
        "step_type": step_type,
        "timestamp": _timestamps(path, col("unix_time_s")),
        "record_index": col("index", np.int64),
        "step_count": col("step_count", np.int64),
        "step_time_s": col("step_time_s"),
        "energy_Wh": col("energy_mWh") * 1e-3,
    }
    for name in frame.columns:
        if name.startswith("aux"):
            data[name] = col(name)
    return pd.DataFrame(data)


def _timestamps(path: Path, unix_s: Any) -> Any:
    """UTC timestamps from unix seconds; impossible values (corrupt records) become NaT with a warning."""

    import numpy as np
    import pandas as pd

    # float seconds → ns leaves 1e-8 s noise; the files store ms or µs
    stamps = pd.to_datetime(unix_s, unit="s", utc=True, errors="coerce").round("us")
    lost = int(np.count_nonzero(np.isfinite(unix_s) & np.asarray(stamps.isna())))
    if lost:
        _warn_lost(path, lost)
    return stamps


def _warn_lost(path: Path, lost: int) -> None:
    warnings.warn(
        f"{path}: {lost} record(s) have impossible timestamps; expected unix seconds within "
        "1677–2262, found values out of range. Their timestamp is NaT; time_s is unaffected.",
        MetadataWarning,
        stacklevel=5,
    )
