"""Truncation and odd values are said, not hidden (issue 14, item 6)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import eisna
from eisna.cli import main
from eisna.errors import SpectrumError, TruncatedDataWarning

from .conftest import SAMPLES

LOOPED = SAMPLES / "nas_looped.mpt"


def _lines() -> list[bytes]:
    return LOOPED.read_bytes().split(b"\n")


def _write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines))
    return path


def test_head_2000_lines_is_said_truncated(tmp_path):
    """``head -n 2000 nas_looped.mpt``: 24 spectra, the last with 46 of 80 points."""
    cut = _write(tmp_path / "c.mpt", [*_lines()[:2000], b""])
    with pytest.warns(TruncatedDataWarning) as caught:
        spectra = eisna.read(cut)
    assert str(caught[0].message) == (
        f"{cut}: the file looks truncated: the header's loop table declares 49 loops up to point 3919, "
        "the data end at point 1885 (24 spectra); the last spectrum has 46 points, the one before it 80. "
        "The last spectrum is kept with meta['truncated'] = True; re-export the file if the "
        "measurement finished."
    )
    assert len(spectra) == 24
    assert [s.meta["truncated"] for s in spectra] == [False] * 23 + [True]
    assert len(spectra[-1]) == 46
    assert spectra[-1].z[-1] == complex(2.4747410e002, -2.2712070e001)  # line 2000, read by hand


def test_cut_inside_the_last_number_drops_the_line(tmp_path):
    """The last line cut to ``…E+001\\t2.4`` (no line end) must not be read as 2.4."""
    lines = _lines()[:2000]
    lines[-1] = lines[-1][:40]  # '2.3788733E+002\t2.4747410E+002\t2.2712070E' cut mid-number
    cut = _write(tmp_path / "c2.mpt", lines)
    expected = "the last line has no line end and is cut short; it was left out"
    with pytest.warns(TruncatedDataWarning, match=expected):
        spectra = eisna.read(cut)
    last = spectra[-1]
    assert len(last) == 45
    assert last.meta["truncated"] is True
    assert last.meta["dropped"] == {"cut last line": 1}
    assert last.meta["n_dropped"] == 1
    assert last.z[-1] == complex(2.4331038e002, -2.5773477e001)  # line 1999, the last whole one
    assert last.freq[-1] == 2.9900355e002


def test_cut_in_the_last_column_is_detected(tmp_path):
    lines = _lines()[:2000]
    lines[-1] = lines[-1].rstrip(b"\r")[:-1]  # '…\t11' cut to '…\t1'
    with pytest.warns(TruncatedDataWarning, match="cut short"):
        spectra = eisna.read(_write(tmp_path / "c3.mpt", lines))
    assert len(spectra[-1]) == 45


def test_complete_file_without_final_line_end_is_not_truncated(tmp_path):
    lines = _lines()
    assert lines[-1] == b""
    path = _write(tmp_path / "whole.mpt", lines[:-1])  # no final line end, like EC-Lab's own files
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spectra = eisna.read(path)
    assert len(spectra) == 49
    assert not any(s.meta["truncated"] for s in spectra)


def test_odd_values_are_dropped_and_counted_by_reason(tmp_path):
    lines = _lines()
    first = 114  # 0-based index of the first data row (header of 114 lines)

    def set_fields(k: int, **cols: bytes) -> None:
        fields = lines[first + k].split(b"\t")
        for j, value in cols.items():
            fields[int(j[1:])] = value
        lines[first + k] = b"\t".join(fields)

    set_fields(1, c0=b"0")  # freq 0 Hz
    set_fields(2, c0=b"-5.0E+003")  # negative frequency
    set_fields(3, c0=b"inf")
    set_fields(4, c0=b"nan")
    set_fields(5, c1=b"0", c2=b"0")  # |Z| = 0
    set_fields(6, c1=b"inf")
    set_fields(7, c2=b"nan")
    spectra = eisna.read(_write(tmp_path / "odd.mpt", lines))
    first_spectrum = spectra[0]
    assert len(spectra) == 49
    assert len(first_spectrum) == 80 - 7
    expected = {"freq<=0": 2, "freq not finite": 2, "|Z|=0": 1, "Z not finite": 2}
    assert first_spectrum.meta["dropped"] == expected
    assert first_spectrum.meta["n_dropped"] == 7
    assert spectra[1].meta["n_dropped"] == 0
    assert np.all(first_spectrum.freq > 0)


def test_zero_impedance_row_does_not_crash_the_fit(tmp_path, capsys):
    """|Z| = 0 gave a ValueError traceback in ``eisna fit``; now the row is dropped."""
    lines = _lines()
    fields = lines[114].split(b"\t")
    fields[1] = fields[2] = fields[3] = b"0"
    lines[114] = b"\t".join(fields)
    path = _write(tmp_path / "z0.mpt", lines)
    assert eisna.read(path)[0].meta["dropped"] == {"|Z|=0": 1}
    assert main(["fit", str(path), "--circuit", "symmetric_interlayer", "--fmin", "1"]) == 0
    out = capsys.readouterr().out
    assert "fit: converged" in out


def test_spectrum_refuses_zero_impedance():
    with pytest.raises(SpectrumError, match=r"\|Z\| = 0 at indices \[1\]; a measured impedance is never 0 Ω"):
        eisna.Spectrum(freq=[10.0, 1.0], z=[1 - 1j, 0j])


def test_truncated_nda_is_said(corpus, tmp_path):
    data = (corpus / "neware-nda" / "nda_v22.nda").read_bytes()
    assert len(data) == 133_503
    cut = tmp_path / "cut.nda"
    cut.write_bytes(data[:80_101])  # 60 %: records start at byte 14221
    with pytest.warns(
        TruncatedDataWarning,
        match=(
            r"cut\.nda: the file looks truncated: the header declares 119282 bytes of records, "
            r"the file holds 65880\. The complete records are read"
        ),
    ):
        frame = eisna.read_cycling(cut)
    assert len(frame) == 764  # of 1380
    assert frame.attrs["truncated"] is True
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        whole = eisna.read_cycling(corpus / "neware-nda" / "nda_v22.nda")
    assert len(whole) == 1380
    assert whole.attrs["truncated"] is False


def test_fastnda_notice_is_attributed_to_its_file(corpus, capfd):
    path = corpus / "neware-nda" / "2-1-6_61[07005012].nda"
    with pytest.warns(eisna.errors.MetadataWarning) as caught:
        eisna.read_cycling(path)
    assert [str(w.message) for w in caught] == [
        f"{path}: fastnda: Data contains Pulse, SIM, or Ramp steps. This might give unexpected cycle "
        "numbers with 'chg' 'dchg' or 'auto' mode. Consider using 'raw' cycle mode instead."
    ]
    assert capfd.readouterr().err == ""  # nothing printed behind the caller's back
