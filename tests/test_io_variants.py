"""Realistic variants of real exports read the same (or say what they lost); stop-19 reader audit.

Each case is a defect that ``benchmarks/audit_readers.py`` found: small synthetic files where
they suffice, corpus copies in ``tmp_path`` (skipped without ../shared) otherwise.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import eisna
from eisna.errors import NoImpedanceData, ParseError, TruncatedDataWarning

from .conftest import REPO

# ------------------------------------------------------------------ EC-Lab 'Nb header lines'

_MPT_ROWS = (
    "1.0000000E+005\t1.0000000E+001\t1.0000000E+000\t1.000000000000000E+000\n"
    "1.0000000E+004\t1.2000000E+001\t3.0000000E+000\t2.000000000000000E+000\n"
    "1.0000000E+003\t1.5000000E+001\t5.0000000E+000\t3.000000000000000E+000\n"
)


def _mpt(declared: int) -> bytes:
    """A 6-line header (names on line 6) that declares ``declared`` lines."""
    head = (
        f"EC-Lab ASCII FILE\nNb header lines : {declared}\n\n"
        "Potentio Electrochemical Impedance Spectroscopy\n\n"
        "freq/Hz\tRe(Z)/Ohm\t-Im(Z)/Ohm\ttime/s\t\n"
    )
    return (head + _MPT_ROWS).encode("cp1252")


@pytest.mark.parametrize("declared", [5, 7])
def test_mpt_header_count_off_by_one_reads_the_same(tmp_path, declared):
    """EC-Lab versions disagree by one on 'Nb header lines'; the column-name line is found."""
    path = tmp_path / "off.mpt"
    path.write_bytes(_mpt(declared))
    (spectrum,) = eisna.read(path)
    np.testing.assert_array_equal(spectrum.freq, [1e5, 1e4, 1e3])
    np.testing.assert_array_equal(spectrum.z, [10 - 1j, 12 - 3j, 15 - 5j])
    assert spectrum.elapsed_s == 1.0
    assert spectrum.meta["technique"] == "PEIS"
    assert spectrum.meta["header"]["header_lines_declared"] == declared


def test_mpt_header_count_right_is_not_marked(tmp_path):
    path = tmp_path / "right.mpt"
    path.write_bytes(_mpt(6))
    (spectrum,) = eisna.read(path)
    assert len(spectrum) == 3
    assert "header_lines_declared" not in spectrum.meta["header"]


def test_mpt_three_line_header_declared_as_two(tmp_path):
    """``Nb header lines : 3`` (no settings) written one short: the names are still line 3."""
    path = tmp_path / "bare.mpt"
    path.write_bytes(
        b"EC-Lab ASCII FILE\nNb header lines : 2\nfreq/Hz\tRe(Z)/Ohm\t-Im(Z)/Ohm\n"
        + b"1.0E+003\t1.0E+001\t2.0E+000\n1.0E+002\t1.5E+001\t3.0E+000\n"
    )
    (spectrum,) = eisna.read(path)
    np.testing.assert_array_equal(spectrum.z, [10 - 2j, 15 - 3j])
    assert spectrum.meta["header"]["header_lines_declared"] == 2


def test_mpt_first_row_starting_with_nan_keeps_the_declared_names(tmp_path):
    """A first data row 'nan …' must not be taken for the column names."""
    path = tmp_path / "nan.mpt"
    path.write_bytes(_mpt(6).replace(b"1.0000000E+005\t1.0000000E+001", b"nan\t1.0000000E+001", 1))
    (spectrum,) = eisna.read(path)
    np.testing.assert_array_equal(spectrum.freq, [1e4, 1e3])
    assert spectrum.meta["dropped"] == {"freq not finite": 1}
    assert "header_lines_declared" not in spectrum.meta["header"]


@pytest.mark.parametrize("delta", [-1, 1])
def test_corpus_mpt_header_count_off_by_one(corpus, tmp_path, delta):
    text = (corpus / "biologic-mpt" / "mb.issue_149.mpt").read_bytes()  # decimal commas, MB, 16 sweeps
    count = re.compile(rb"(Nb header lines\s*:\s*)(\d+)")
    changed = count.sub(lambda m: m[1] + b"%d" % (int(m[2]) + delta), text, count=1)
    path = tmp_path / "mb.mpt"
    path.write_bytes(changed)
    got, want = eisna.read(path), eisna.read(corpus / "biologic-mpt" / "mb.issue_149.mpt")
    assert len(got) == len(want) == 16
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a.z, b.z)
        assert a.timestamp == b.timestamp
        assert a.meta["dropped"] == b.meta["dropped"]


# ------------------------------------------------------------------ a last line cut short


def _table_csv(rows: int, cut_last: bool) -> str:
    lines = ["freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm"]
    for k in range(rows):
        lines.append(f"{10.0 ** (5 - k / 2):.6E},{10 + k:.6E},{1.125 + k:.6E}")
    text = "\n".join(lines)
    return text[:-6] if cut_last else text  # '…,8.125000E+000' → '…,8.12500' (copied while written)


def test_table_cut_last_line_is_left_out_and_counted(tmp_path):
    path = tmp_path / "cut.csv"
    path.write_text(_table_csv(8, cut_last=True))
    with pytest.warns(TruncatedDataWarning, match=r"cut\.csv, line 9: the file looks truncated"):
        (spectrum,) = eisna.read(path)
    assert len(spectrum) == 7  # the 8th point, whose -Im was cut to 8.12500, is not read
    assert spectrum.z[-1] == 16 - 7.125j
    assert spectrum.meta["dropped"] == {"cut last line": 1}
    assert spectrum.meta["n_dropped"] == 1
    assert spectrum.meta["truncated"] is True


def test_table_last_line_cut_to_one_number_is_counted(tmp_path):
    """Cut to '3.162278E+' (no longer a row of numbers), the line was skipped without a count."""
    text = _table_csv(8, cut_last=False)
    path = tmp_path / "cut1.csv"
    path.write_text(text[: text.rindex("\n") + 11])
    with pytest.warns(TruncatedDataWarning, match=r"cut1\.csv, line 9: the file looks truncated"):
        (spectrum,) = eisna.read(path)
    assert len(spectrum) == 7
    assert spectrum.meta["dropped"] == {"cut last line": 1}


def test_table_whole_last_line_without_line_end_is_kept(tmp_path):
    path = tmp_path / "whole.csv"
    path.write_text(_table_csv(8, cut_last=False))  # no final line end, but nothing cut
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (spectrum,) = eisna.read(path)
    assert len(spectrum) == 8
    assert spectrum.z[-1] == 17 - 8.125j
    assert "truncated" not in spectrum.meta


def test_repr_float_table_short_last_value_is_not_a_cut(tmp_path):
    """Shortest-repr floats: '1.0' after '1.3894954943731388' is a value, not a cut."""
    path = tmp_path / "repr.csv"
    freqs = [7.196856730011521, 5.1794746792312125, 3.7275937203149416, 2.6826957952797272]
    freqs += [1.9306977288832516, 1.3894954943731388, 1.0]
    path.write_text("Z',Z'',f\n" + "\n".join(f"{600.5 + k},{-90.25 - k},{f!r}" for k, f in enumerate(freqs)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (spectrum,) = eisna.read(path)
    assert spectrum.freq[-1] == 1.0
    assert len(spectrum) == 7


def test_looks_cut_rules():
    from eisna.io._text import looks_cut

    fixed = ["1.0000000E+003\t-2.5000000E+001", "1.0000000E+002\t-3.5000000E+001"]
    assert looks_cut("1.0000000E+001\t-4.5", fixed)  # shorter than every number of the column
    assert looks_cut("1.0000000E+001", fixed)  # a field fewer
    assert not looks_cut("1.0000000E+001\t-4.5000000E+001", fixed)
    assert looks_cut("1,2.5E", ["1,2.5E+3", "2,2.5E+4"], ",")  # cut inside the exponent
    # a text cell ending in 'e' is no number cut in its exponent (neware_uio.csv ends in 'Close')
    assert not looks_cut("3,0,Close", ["1,0,Close", "2,0,Close"], ",")
    # fixed count of significant digits (PowerSuite): -1397.7 is -1397.7358 cut short
    sig = ["20\t-470.54113", "30\t-713.75358", "40\t-4331.2465", "50\t-25846.006", "60\t-90093.313"]
    assert looks_cut("50\t-1397.7", sig, fixed_width=True)
    assert not looks_cut("50\t-1397.7358", sig, fixed_width=True)
    # a positive value after negatives of the same format is one character shorter, not cut
    assert not looks_cut("1.0000000E+001\t4.5000000E+001", fixed)
    assert looks_cut("1.0000000E+001\t4.5", fixed)


def test_mpt_last_value_changing_sign_keeps_its_row(corpus, tmp_path):
    """EC-Lab ends every file without a line end; a last row whose last column turns positive
    after negative values (``dq`` of a PEIS export here) is a whole row, not a cut one."""
    text = (corpus / "biologic-mpt" / "peis.mpt").read_bytes().decode("latin-1")
    head, rows = text.split("dq/mA.h", 1)
    lines = rows.split("\n")
    data = [i for i, ln in enumerate(lines) if ln.strip() and ln.split("\t")[0][:1].isdigit()]
    for i in data[:-1]:  # every earlier row negative in the last column, the last one positive
        *cells, last = lines[i].rstrip("\r").split("\t")
        lines[i] = "\t".join([*cells, "-" + last.lstrip("-")])
    *cells, last = lines[data[-1]].split("\t")
    lines[data[-1]] = "\t".join([*cells, last.lstrip("-")])
    path = tmp_path / "peis_sign.mpt"
    path.write_bytes((head + "dq/mA.h" + "\n".join(lines)).encode("latin-1"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", TruncatedDataWarning)
        got = eisna.read(path)
    want = eisna.read(corpus / "biologic-mpt" / "peis.mpt")
    assert len(got) == len(want) == 1
    np.testing.assert_array_equal(got[0].freq, want[0].freq)
    np.testing.assert_array_equal(got[0].z, want[0].z)


def test_zview_cut_last_line(corpus, tmp_path):
    src = corpus / "other-formats" / "impedancepy" / "Circuit3_EIS_1.z"
    data = src.read_bytes().rstrip(b"\r\n")
    path = tmp_path / "cut.z"
    path.write_bytes(data[: data.rindex(b"\t") - 3])  # the last row loses its last columns
    with pytest.warns(TruncatedDataWarning, match=r"cut\.z, line \d+: the file looks truncated"):
        (got,) = eisna.read(path)
    (whole,) = eisna.read(src)
    assert len(got) == len(whole) - 1
    np.testing.assert_array_equal(got.z, whole.z[:-1])
    assert got.meta["dropped"] == {"cut last line": 1}
    assert got.meta["truncated"] is True


def test_gamry_cut_last_line(corpus, tmp_path):
    src = corpus / "other-formats" / "gamry-parser" / "eispot_data.dta"
    data = src.read_bytes().rstrip(b"\r\n")
    path = tmp_path / "cut.dta"
    path.write_bytes(data[: data.rindex(b"\t", 0, data.rindex(b"\t")) + 1])  # last row: 2 fields short
    with pytest.warns(TruncatedDataWarning, match=r"cut\.dta, line \d+: the file looks truncated"):
        (got,) = eisna.read(path)
    (whole,) = eisna.read(src)
    assert len(got) == len(whole) - 1
    np.testing.assert_array_equal(got.z, whole.z[:-1])
    assert got.meta["n_dropped"] == whole.meta["n_dropped"] + 1
    assert got.meta["truncated"] is True


def cut_in_the_last_date(src: Path, dest: Path) -> Path:
    """``src`` (a nested Neware CSV) written to ``dest`` cut inside its last record's Date cell
    ('2020-..-.. 12:3'), as a file copied while BTSDA still wrote it."""
    data = src.read_bytes().rstrip(b"\r\n")
    last = data[data.rindex(b"\n") + 1 :]
    date = re.search(rb"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", last)
    assert date is not None
    dest.write_bytes(data[: data.rindex(b"\n") + 1 + date.start() + 14])
    return dest


def test_nested_neware_csv_cut_in_the_date_is_not_read_as_another_time(corpus, tmp_path):
    """The last record cut inside its Date cell was read with a wrong timestamp."""
    src = corpus / "neware-csv" / "nw_regular_export_ife_example.csv"
    path = cut_in_the_last_date(src, tmp_path / "cut.csv")
    with pytest.warns(TruncatedDataWarning, match="the file looks truncated"):
        got = eisna.read_cycling(path)
    whole = eisna.read_cycling(src)
    assert len(got) == len(whole) - 1
    pd.testing.assert_frame_equal(got, whole.iloc[:-1])
    assert got.attrs["dropped"] == {"cut last line": 1}


def test_ivium_dataset_cut_inside_primary_data_is_said(corpus, tmp_path):
    src = corpus / "other-formats" / "pyimpspec" / "data.idf"
    data = src.read_bytes()
    start = data.index(b"primary_data")
    path = tmp_path / "cut.idf"
    path.write_bytes(data[: data.index(b"\n", start + 400)])
    with pytest.warns(TruncatedDataWarning, match=r"'primary_data' announces 29 rows, the file ends after"):
        (got,) = eisna.read(path)
    assert 0 < len(got) < 29


# ------------------------------------------------------------------ locale and extension


def test_neware_csv_with_decimal_comma_and_semicolons(corpus, tmp_path):
    """BTSDA on a German/French Windows: ';' separators and '0,25' numbers."""
    src = corpus / "neware-csv" / "interp-test.csv"
    text = src.read_bytes().decode("cp1252")
    changed = re.sub(r"(?<=\d)\.(?=\d)", ",", text.replace(",", ";"))
    path = tmp_path / "de.csv"
    path.write_bytes(changed.encode("cp1252"))
    pd.testing.assert_frame_equal(eisna.read_cycling(path), eisna.read_cycling(src))


def test_neware_csv_saved_as_utf16_by_excel(corpus, tmp_path):
    """Excel's "Unicode text" (UTF-16 with a byte-order mark) was 'not a Neware BTSDA export'."""
    src = corpus / "neware-csv" / "interp-test.csv"
    path = tmp_path / "utf16.csv"
    path.write_bytes(src.read_bytes().decode("cp1252").encode("utf-16"))
    pd.testing.assert_frame_equal(eisna.read_cycling(path), eisna.read_cycling(src))


def test_csv_table_without_extension_is_read_by_content(tmp_path):
    path = tmp_path / "spectrum"
    path.write_text(_table_csv(8, cut_last=False) + "\n")
    (spectrum,) = eisna.read(path)
    assert spectrum.meta["format"] == "table"
    assert len(spectrum) == 8


@pytest.mark.parametrize("name", ["data.txt", "data"])
def test_workbook_with_wrong_or_no_extension(corpus, tmp_path, name):
    src = corpus / "other-formats" / "pyimpspec" / "data.xlsx"
    path = tmp_path / name
    path.write_bytes(src.read_bytes())
    got, want = eisna.read(path), eisna.read(src)
    assert len(got) == len(want) == 4
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a.z, b.z)


# ------------------------------------------------------------------ the audit itself


def test_audit_of_core_corpus_files_finds_no_defect(corpus):
    """``benchmarks/audit_readers.py`` on a few files of each core format (about 3 s)."""
    spec = importlib.util.spec_from_file_location("audit_readers", REPO / "benchmarks" / "audit_readers.py")
    assert spec is not None and spec.loader is not None
    audit = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = audit  # its dataclass looks the module up while it is defined
    try:
        spec.loader.exec_module(audit)
    finally:
        del sys.modules[spec.name]
    names = {
        "biologic-mpt/peis.mpt",
        "biologic-mpt/mb.issue_95.de.mpt",
        "biologic-mpt/vsp_peis_with.mpt",
        "biologic-mpr/peis.issue_149.mpr",
        "neware-csv/interp-test.csv",
        "neware-nda/nda_v8.nda",
        "neware-ndax/scrubbed_ndc2.ndax",
        "other-formats/impedancepy/exampleDataGamry.DTA",
        "other-formats/impedancepy/Circuit1_EIS_1.z",
        "other-formats/pyimpspec/data.xlsx",
    }
    rows = audit.audit(Path(corpus), names=names)
    assert {r[0] for r in rows} == names
    defects = [r for r in rows if r[3] in audit.DEFECTS]
    assert defects == []
    assert {r[3] for r in rows} <= {"same", "prefix", "error", "error-line"}


@pytest.mark.parametrize("share", [50, 90, 99])
def test_cut_ndax_is_said_truncated(corpus, tmp_path, share):
    """A ZIP's member list is at its end: a cut .ndax was 'not a readable ZIP ... hostile'."""
    data = (corpus / "neware-ndax" / "test.ndax").read_bytes()
    path = tmp_path / "cut.ndax"
    path.write_bytes(data[: len(data) * share // 100])
    with pytest.raises(ParseError, match=r"cut\.ndax: starts like a ZIP archive .* the file looks truncated"):
        eisna.read_cycling(path)


def test_gamry_eis_cut_before_its_table_says_so(corpus, tmp_path):
    text = (corpus / "other-formats" / "gamry-parser" / "eispot_data.dta").read_bytes()
    path = tmp_path / "cut.dta"
    path.write_bytes(text[: text.index(b"ZCURVE")])
    with pytest.raises(NoImpedanceData, match=r"holds no impedance table .* the file is truncated"):
        eisna.read(path)


def test_cut_mpr_says_its_start_time_is_lost(corpus, tmp_path):
    data = (corpus / "biologic-mpr" / "geis.mpr").read_bytes()
    path = tmp_path / "cut.mpr"
    path.write_bytes(data[: len(data) // 2])
    with pytest.warns(
        TruncatedDataWarning, match=r"'VMP LOG' module after it .* is lost, so timestamps are None"
    ):
        spectra = eisna.read(path)
    whole = eisna.read(corpus / "biologic-mpr" / "geis.mpr")
    assert 0 < len(spectra) < len(whole)
    assert all(s.timestamp is None for s in spectra)
    for got, want in zip(spectra[:-1], whole, strict=False):
        np.testing.assert_array_equal(got.z, want.z)
