"""EC-Lab ``.mpt`` exports with ``Time format : Absolute`` (dates and clock times in ``time/s``).

No real absolute-time export is at hand, so the corpus files are rewritten the way EC-Lab
writes that option (the ``time/s`` column as ``start + time/s`` printed to 0.1 ms in the
chosen date order, the ``Time format`` line changed) and must read back to the spectra,
elapsed times (to the printed 0.1 ms) and timestamps of the elapsed original. Small
synthetic files cover the ambiguous and the undecidable cases.
"""

from __future__ import annotations

import re
import warnings
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

import eisna
from eisna.errors import EisnaError, MetadataWarning, ParseError
from eisna.io import biologic_mpt

_PRINTED_S = 1e-4 + 1e-9  # the rewritten clock times carry four decimals of a second
_NB_HEADER = re.compile(rb"Nb header lines : (\d+)")


def _clock(moment: datetime, order: str, date_sep: str, time_sep: str, decimal: str) -> str:
    """``moment`` as EC-Lab prints an absolute time: date in ``order``, seconds to 0.1 ms."""
    y, m, d = f"{moment.year:04d}", f"{moment.month:02d}", f"{moment.day:02d}"
    fields = {"MDY": (m, d, y), "DMY": (d, m, y), "YMD": (y, m, d)}[order]
    fraction = f"{moment.microsecond // 100:04d}"
    clock = time_sep.join((f"{moment.hour:02d}", f"{moment.minute:02d}", f"{moment.second:02d}"))
    return f"{date_sep.join(fields)} {clock}{decimal}{fraction}"


def _absolute(
    raw: bytes,
    start: datetime,
    order: str,
    *,
    date_sep: str = "/",
    time_sep: str = ":",
    time_format: str = "Absolute",
    start_line: str | None = None,
) -> tuple[bytes, list[datetime]]:
    """Rewrite an elapsed export as an absolute one; return it and each row's clock time."""
    lines = raw.split(b"\n")
    n_header = int(_NB_HEADER.search(raw).group(1))  # type: ignore[union-attr]
    names = lines[n_header - 1].rstrip(b"\r").split(b"\t")
    index = names.index(b"time/s")
    data = [k for k in range(n_header, len(lines)) if lines[k].strip()]
    decimal = "," if re.search(rb"\d,\d", lines[data[0]]) else "."
    base = start.replace(microsecond=0)
    moments = []
    for k in data:
        fields = lines[k].split(b"\t")
        elapsed = float(fields[index].decode().replace(",", "."))
        ticks = round((start.microsecond * 1e-6 + elapsed) * 1e4)  # 0.1 ms, as printed
        moment = base + timedelta(microseconds=ticks * 100)
        moments.append(moment)
        fields[index] = _clock(moment, order, date_sep, time_sep, decimal).encode()
        lines[k] = b"\t".join(fields)
    text = b"\n".join(lines)
    text = re.sub(rb"Time format : Elapsed", b"Time format : " + time_format.encode(), text)
    if start_line is not None:
        text = re.sub(
            rb"Acquisition started on : [^\r\n]*", b"Acquisition started on : " + start_line.encode(), text
        )
    return text, moments


def _read_quiet(path: Path, **options) -> list[eisna.Spectrum]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # placeholder area, truncation: the same as the original's
        return eisna.read(path, **options)


def _assert_same_spectra(original, absolute, elapsed_shift: float = 0.0) -> None:
    assert len(absolute) == len(original)
    for a, o in zip(absolute, original, strict=True):
        np.testing.assert_array_equal(a.freq, o.freq)
        np.testing.assert_array_equal(a.z, o.z)
        assert abs(a.elapsed_s - (o.elapsed_s - elapsed_shift)) <= _PRINTED_S
        assert a.meta["cycle"] == o.meta["cycle"]
        assert a.meta["technique"] == o.meta["technique"]


# file, and what decides the order (the start of the date_order_reason)
WITH_START = [
    ("peis.mpt", "only the"),  # 03/02/2021, one day: read the other way it starts before the header
    ("mb.mpt", "'"),  # 08/23/2021: a day > 12 rules one order out
    ("geis.mpt", "the "),  # crosses midnight to 03/04/2021: both after the start, one much closer
    ("mb.issue_149.mpt", "the "),  # 01/10/2024, decimal comma, Modulo Bat
    ("peis.issue_225.with_ece.mpt", "only the"),  # 08/01/2025, names line wider than the rows
    ("zir.mpt", "'"),  # 03/26/2018 12:10, the point 12 h later on 03/27
    ("peis.issue_149.mpt", "the "),  # 01/10/2024, decimal comma
    ("mb.issue_223.mpt", "'"),  # 07/30/2025
    ("exampleDataBioLogic.mpt", "the "),  # 02/04/2018, 61-line header, start without milliseconds
]
_REASONS = {
    "only the": r"only the (month|day) first \(.+\) reading starts at or after 'Acquisition started on",
    "the ": r"the (month|day) first \(.+\) reading starts closest after 'Acquisition started on",
    "'": r"'\d\d/\d\d/\d{4} [\d:.]+' \(line \d+\) is no date read (month|day) first",
}


@pytest.mark.parametrize("order", ["MDY", "DMY"])
@pytest.mark.parametrize(("name", "why"), WITH_START, ids=[w[0] for w in WITH_START])
def test_corpus_file_rewritten_absolute_reads_like_the_original(corpus, tmp_path, name, why, order):
    source = corpus / "biologic-mpt" / name
    original = _read_quiet(source)
    start = original[0].timestamp - timedelta(seconds=original[0].elapsed_s)
    text, _ = _absolute(source.read_bytes(), start, order)
    path = tmp_path / name
    path.write_bytes(text)
    spectra = _read_quiet(path)
    _assert_same_spectra(original, spectra)
    for a, o in zip(spectra, original, strict=True):
        assert abs((a.timestamp - o.timestamp).total_seconds()) <= _PRINTED_S
        assert a.meta["time_format"] == "absolute"
        assert a.meta["date_order"] == order
        assert a.meta["time_origin"] == "Acquisition started on"
        assert re.match(_REASONS[why], a.meta["date_order_reason"])


@pytest.mark.parametrize(
    ("order", "date_sep", "time_sep", "time_format"),
    [
        ("MDY", "-", ":", "Absolute MMDDYYYY"),
        ("DMY", ".", ":", "Absolute DDMMYYYY"),
        ("DMY", ".", ".", "Absolute"),  # Finnish-style clock: 16.25.27,1567
        ("YMD", "-", ":", "Absolute"),
    ],
)
def test_separators_and_declared_order(corpus, tmp_path, order, date_sep, time_sep, time_format):
    source = corpus / "biologic-mpt" / "peis.mpt"
    raw = source.read_bytes()
    if time_sep == ".":  # a comma locale: every number of the data rows with a decimal comma
        head, sep, rows = raw.partition(b"dq/mA.h\t\n")
        raw = head + sep + rows.replace(b".", b",")
    original = _read_quiet(source)
    text, _ = _absolute(
        raw,
        datetime(2021, 3, 2, 16, 17, 59),
        order,
        date_sep=date_sep,
        time_sep=time_sep,
        time_format=time_format,
    )
    path = tmp_path / "peis.mpt"
    path.write_bytes(text)
    spectra = _read_quiet(path)
    _assert_same_spectra(original, spectra)
    assert spectra[0].timestamp == datetime(2021, 3, 2, 16, 25, 27, 156700)  # 16:17:59 + 448.1567 s
    assert spectra[0].meta["date_order"] == order
    if time_format != "Absolute":
        assert spectra[0].meta["date_order_reason"].startswith("declared on the 'Time format")


def test_header_written_day_first(corpus, tmp_path):
    """'Acquisition started on : 30/07/2025 …' (day > 12) is read day first too."""
    source = corpus / "biologic-mpt" / "mb.issue_223.mpt"
    original = _read_quiet(source)
    start = datetime(2025, 7, 30, 9, 24, 35, 408000)
    text, _ = _absolute(source.read_bytes(), start, "DMY", start_line="30/07/2025 09:24:35.408")
    path = tmp_path / "mb.mpt"
    path.write_bytes(text)
    spectra = _read_quiet(path)
    _assert_same_spectra(original, spectra)
    assert [s.timestamp for s in spectra] == pytest.approx(
        [s.timestamp for s in original], abs=timedelta(seconds=1e-4)
    )
    assert spectra[0].meta["time_origin"] == "Acquisition started on"


def test_three_line_header_counts_from_the_first_row(corpus, tmp_path):
    """vsp_peis_with.mpt has no header date: elapsed counts from the first row, over 13 days."""
    source = corpus / "biologic-mpt" / "vsp_peis_with.mpt"
    original = _read_quiet(source)
    first_row_s = biologic_mpt.load(source).column("time")[0]
    start = datetime(2023, 4, 30, 8, 0, 0)  # the run spans May 1 → May 14: days > 12 decide
    for order in ("MDY", "DMY"):
        text, moments = _absolute(source.read_bytes(), start, order)
        path = tmp_path / f"vsp_{order}.mpt"
        path.write_bytes(text)
        spectra = _read_quiet(path)
        _assert_same_spectra(original, spectra, elapsed_shift=first_row_s)
        assert spectra[0].meta["time_origin"] == "first data row"
        assert spectra[0].meta["date_order"] == order
        assert "is no date read" in spectra[0].meta["date_order_reason"]
        expected = moments[0] + timedelta(seconds=spectra[-1].elapsed_s)
        assert abs((spectra[-1].timestamp - expected).total_seconds()) <= _PRINTED_S
        bare = path.with_name(f"bare_{order}.mpt")  # the column-name line alone, no magic line
        bare.write_bytes(b"\n".join(text.split(b"\n")[2:]))
        _assert_same_spectra(original, _read_quiet(bare), elapsed_shift=first_row_s)


def test_anonymised_start_same_day_is_undecidable_until_told(corpus, tmp_path):
    """ex1.mpt has 'xx/xx/xxxx' for its start: a run within one day ≤ 12 cannot be ordered."""
    source = corpus / "biologic-mpt" / "ex1.mpt"
    original = _read_quiet(source)
    with pytest.warns(MetadataWarning, match="cannot read the start date"):  # the elapsed original
        first_row_s = biologic_mpt.load(source).column("time")[0]
    text, _ = _absolute(source.read_bytes(), datetime(2023, 5, 6, 6, 0, 0), "DMY")
    path = tmp_path / "ex1.mpt"
    path.write_bytes(text)
    with pytest.raises(ParseError, match=r"ex1\.mpt, line 62, column 'time/s': cannot tell whether"):
        _read_quiet(path)
    spectra = _read_quiet(path, date_order="DMY")
    _assert_same_spectra(original, spectra, elapsed_shift=first_row_s)
    assert spectra[0].timestamp.date() == datetime(2023, 5, 6).date()
    text, _ = _absolute(source.read_bytes(), datetime(2023, 5, 13, 6, 0, 0), "DMY")  # day 13 decides
    path.write_bytes(text)
    assert _read_quiet(path)[0].meta["date_order"] == "DMY"


@pytest.mark.parametrize(
    ("name", "start"),
    [
        ("mb.mpt", datetime(2021, 8, 23, 11, 44, 40, 646000)),
        ("mb.issue_95.de.mpt", datetime(2022, 12, 8, 14, 36, 53, 355000)),
    ],
)
def test_cycling_rows_of_an_absolute_export(corpus, tmp_path, name, start):
    source = corpus / "biologic-mpt" / name
    original = biologic_mpt.read_cycling(source)
    text, _ = _absolute(source.read_bytes(), start, "DMY")
    path = tmp_path / name
    path.write_bytes(text)
    frame = biologic_mpt.read_cycling(path)
    np.testing.assert_allclose(frame["time_s"], original["time_s"], rtol=0, atol=_PRINTED_S)
    np.testing.assert_array_equal(frame["voltage_V"], original["voltage_V"])
    gap = (frame["timestamp"] - original["timestamp"]).abs().max()
    assert gap.total_seconds() <= _PRINTED_S


# --------------------------------------------------------------------------- synthetic files


def _small(rows: list[str], start: str | None, time_format: str = "Absolute") -> bytes:
    """A PEIS export with the given time/s cells (a 5-line header with a date, or 3 lines)."""
    names = "freq/Hz\tRe(Z)/Ohm\t-Im(Z)/Ohm\ttime/s\tcycle number\t"
    body = [f"{1e5 / 10**k:.7E}\t{10 + k}.0\t{1 + k}.0\t{cell}\t1.0" for k, cell in enumerate(rows)]
    if start is None:
        header = ["EC-Lab ASCII FILE", "Nb header lines : 3", names]
    else:
        header = [
            "EC-Lab ASCII FILE",
            "Nb header lines : 9",
            "",
            "Potentio Electrochemical Impedance Spectroscopy",
            "",
            f"Acquisition started on : {start}",
            "Text export",
            f"   Time format : {time_format}",
            names,
        ]
    return ("\r\n".join(header + body) + "\r\n").encode("cp1252")


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("rows", "order"),
    [
        (["05/05/2023 23:59:30.0000", "05/05/2023 23:59:50.5000", "05/06/2023 00:00:30.2500"], "MDY"),
        (["05/05/2023 23:59:30.0000", "05/05/2023 23:59:50.5000", "06/05/2023 00:00:30.2500"], "DMY"),
    ],
)
def test_ambiguous_order_keeps_the_run_near_the_header_date(tmp_path, rows, order):
    """Every date valid both ways, forward both ways, both after the start: the short run wins."""
    path = _write(tmp_path, "amb.mpt", _small(rows, "05/05/2023 23:59:00.000"))
    with pytest.warns(
        MetadataWarning, match=r"amb\.mpt: the dates of column .* read both month first and day first"
    ):
        spectra = biologic_mpt.read(path)
    assert len(spectra) == 1
    meta = spectra[0].meta
    assert meta["date_order"] == order
    assert meta["date_order_reason"].startswith("ambiguous:")
    assert spectra[0].elapsed_s == pytest.approx(30.0, abs=1e-9)
    loaded = biologic_mpt.load(path)
    np.testing.assert_allclose(loaded.column("time"), [30.0, 50.5, 90.25], rtol=0, atol=1e-9)


def test_monotone_time_decides(tmp_path):
    rows = ["05/03/2023 10:00:00.0000", "06/03/2023 10:00:00.0000", "07/02/2023 09:00:00.0000"]
    path = _write(tmp_path, "back.mpt", _small(rows, None))
    spectra = biologic_mpt.read(path)
    # day first: 5 Mar, 6 Mar, 7 Feb goes back; month first: May 3, Jun 3, Jul 2 runs forward
    assert spectra[0].meta["date_order"] == "MDY"
    assert "runs forward only" in spectra[0].meta["date_order_reason"]
    expected = [0.0, 31 * 86400.0, 60 * 86400.0 - 3600.0]
    np.testing.assert_allclose(biologic_mpt.load(path).column("time"), expected, rtol=0, atol=1e-9)


def test_undecidable_order_names_file_line_column_and_what_to_do(tmp_path):
    rows = ["05/06/2023 10:00:00.0000", "05/06/2023 10:00:01.5000", "05/06/2023 10:00:03.0000"]
    path = _write(tmp_path, "undecided.mpt", _small(rows, None))
    with pytest.raises(EisnaError) as caught:
        eisna.read(path)
    message = str(caught.value)
    assert isinstance(caught.value, ParseError)
    assert message.startswith(
        f"{path}, line 4, column 'time/s': cannot tell whether the dates are month first"
    )
    assert "'05/06/2023 10:00:00.0000' reads as 2023-05-06 or 2023-06-05" in message
    assert "no usable 'Acquisition started on'" in message
    assert "date_order='DMY'" in message and "'Time format : Elapsed'" in message
    # what the message proposes works, and the declared order decides too
    spectra = eisna.read(path, date_order="DMY")
    assert spectra[0].timestamp == datetime(2023, 6, 5, 10, 0, 0)
    assert spectra[0].meta["date_order_reason"] == "given by the caller (date_order)"
    declared = _write(tmp_path, "declared.mpt", _small(rows, "xx/xx/xxxx xx:xx:xx", "Absolute DDMMYYYY"))
    assert eisna.read(declared)[0].timestamp == datetime(2023, 6, 5, 10, 0, 0)


def test_start_after_every_reading_is_said(tmp_path):
    rows = ["05/06/2023 10:00:00.0000", "05/06/2023 10:00:01.5000"]
    path = _write(tmp_path, "late.mpt", _small(rows, "12/31/2023 10:00:00.000"))
    with pytest.raises(
        ParseError, match=r"no reading starts at or after 'Acquisition started on : 12/31/2023"
    ):
        eisna.read(path)


def test_start_after_the_first_row_warns_and_counts_from_the_row(tmp_path):
    rows = ["05/13/2023 10:00:00.0000", "05/13/2023 10:00:01.5000"]
    path = _write(tmp_path, "early.mpt", _small(rows, "05/13/2023 11:00:00.000"))
    with pytest.warns(MetadataWarning, match=r"early\.mpt, line 10: the first row's time .* is before"):
        spectra = eisna.read(path)
    assert spectra[0].meta["time_origin"] == "first data row"
    assert spectra[0].elapsed_s == 0.0
    assert spectra[0].timestamp == datetime(2023, 5, 13, 10, 0, 0)


@pytest.mark.parametrize(
    ("rows", "options", "pattern"),
    [
        (
            ["05/16/2023 10:00:00.0000", "05/16/2023 10:00:01"],
            {"date_order": "DMY"},
            r"line 4, column 'time/s': date_order='DMY' does not fit '05/16/2023 10:00:00.0000'",
        ),
        (
            ["05/16/2023 10:00:00.0000", "1.5"],
            {},
            r"line 5, column 'time/s': expected a date and time like the first",
        ),
        (
            ["13/16/2023 10:00:00.0000"],
            {},
            r"line 4, column 'time/s': expected dates all month first .*found '13/16",
        ),
        (
            ["05/12/2023 10:00:00.0000", "05/13/2023 10:00:00.0000", "13/05/2023 10:00:00.0000"],
            {},
            r"line 5, column 'time/s': expected dates .*found '05/13/2023 10:00:00.0000' and, on line 6, "
            r"'13/05/2023 10:00:00.0000', which fit neither order together",
        ),
        (["05/16/2023 10:00:00.0000"], {"date_order": "YDM"}, r"date_order must be one of"),
        (
            ["2023-13-05 10:00:00.0000"],
            {},
            r"line 4, column 'time/s': expected a valid date, found '2023-13-05",
        ),
        (
            ["2023-05-13 10:00:00.0000", "05/13/2023 10:00:01.0000"],
            {},
            r"line 5, column 'time/s': expected a date and time like the first row \('2023-05-13",
        ),
        (["05/16/2023 25:00:00.0000"], {}, r"line 4, column 'time/s': expected a clock time HH:MM:SS"),
    ],
)
def test_bad_absolute_cells(tmp_path, rows, options, pattern):
    path = _write(tmp_path, "bad.mpt", _small(rows, None))
    with pytest.raises(ParseError, match=pattern):
        eisna.read(path, **options)


def test_twelve_hour_clock_and_day_equal_month(tmp_path):
    rows = ["04/04/2023 11:59:59.5000 AM", "04/04/2023 12:00:00.5000 PM", "04/04/2023 1:00:00 PM"]
    path = _write(tmp_path, "ampm.mpt", _small(rows, None))
    spectra = biologic_mpt.read(path)
    assert spectra[0].meta["date_order_reason"].startswith("every date has day = month")
    np.testing.assert_allclose(biologic_mpt.load(path).column("time"), [0.0, 1.0, 3600.5], rtol=0, atol=1e-9)
    assert spectra[0].timestamp == datetime(2023, 4, 4, 11, 59, 59, 500000)
