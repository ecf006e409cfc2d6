"""EC-Lab ``.mpr`` files against their ``.mpt`` text exports (the twins of the corpus).

Every ``.mpr`` of the corpus must read; where a twin exists, both must give the same
spectra (frequencies and impedances within float32 rounding, same number of spectra
and points), and every column the ``.mpr`` decodes must equal the same column of the
``.mpt``. That last check is what verifies the column-ID table
(:mod:`eisna.io.biologic_mpr_columns`, entries marked ``"twin"``).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import eisna
from eisna.errors import MetadataWarning, NoImpedanceData
from eisna.io import biologic_mpr, biologic_mpt
from eisna.io.biologic_mpr_columns import COLUMNS, SOURCES

from .conftest import CORPUS

MPR_FILES = sorted(p.name for p in (CORPUS / "biologic-mpr").glob("*.mpr")) if CORPUS.is_dir() else []
TWINS = [name for name in MPR_FILES if (CORPUS / "biologic-mpt" / name.replace(".mpr", ".mpt")).is_file()]
# files without impedance rows: read() must say so, read_cycling() must work
CYCLING_ONLY = {"00_test_02_MB_C01.mpr", "mb.issue_218.mpr", "mb.issue_95.mpr"}
# the .mpt export renames a few columns (EC-Lab 11.62 and later: P -> Pwe)
_MPT_NAMES = {"P/W": ("P/W", "Pwe/W")}


def _quiet(func, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetadataWarning)
        return func(*args)


def _mpt_table(path: Path) -> dict[str, np.ndarray]:
    """Independent minimal .mpt parser: header count on line 2, columns aligned from the left."""
    lines = path.read_bytes().decode("cp1252").replace("\r", "").split("\n")
    n_header = int(lines[1].split(":")[1])
    names = lines[n_header - 1].split("\t")
    rows = [line.replace(",", ".").split("\t") for line in lines[n_header:] if line.strip()]
    width = len(rows[0])
    return {name: np.array([float(r[j]) for r in rows]) for j, name in enumerate(names[:width]) if name}


def test_every_corpus_mpr_is_covered(corpus):
    assert len(MPR_FILES) >= 14
    assert set(MPR_FILES) >= CYCLING_ONLY
    for name in ("mb.mpr", "mb.issue_95.mpr", "mb.issue_218.mpr", "peis.issue_225.ewe_ece.mpr"):
        assert name in TWINS


@pytest.mark.parametrize("name", MPR_FILES)
def test_every_corpus_mpr_reads(corpus, name):
    path = corpus / "biologic-mpr" / name
    if name in CYCLING_ONLY:
        with pytest.raises(NoImpedanceData, match="no impedance data"):
            eisna.read(path)
        frame = eisna.read_cycling(path)
        assert len(frame) > 0 and np.isfinite(frame["voltage_V"]).all()
        return
    spectra = eisna.read(path)
    assert spectra and all(len(s) > 0 and np.all(s.freq > 0) for s in spectra)


@pytest.mark.parametrize("name", TWINS)
def test_every_mpr_column_equals_its_mpt_column(corpus, name):
    mpr = biologic_mpr.read_mpr(corpus / "biologic-mpr" / name)
    table = _mpt_table(corpus / "biologic-mpt" / name.replace(".mpr", ".mpt"))
    assert mpr.n_rows == len(next(iter(table.values())))
    for column in mpr.columns:
        candidates = [n for n in _MPT_NAMES.get(column, (column,)) if n in table]
        assert candidates, f"{column} missing from the .mpt"
        expected = table[candidates[0]]
        got = mpr.data[column].astype(np.float64)
        if column.startswith(("THD", "NSD", "NSR", "|Ewe h", "|I h")):
            # quality indicators: the export masks the first points of a sweep (-1, or 0 for harmonics)
            masked = (expected == -1.0) | (expected == 0.0)
            assert (~masked).sum() >= 10, column
            got = np.where(masked, expected, got)
        scale = max(float(np.abs(expected).max()), 1e-30)
        np.testing.assert_allclose(got, expected, rtol=2e-6, atol=1e-6 * scale, err_msg=column)


@pytest.mark.parametrize("name", [n for n in TWINS if n not in CYCLING_ONLY])
def test_mpr_and_mpt_give_the_same_spectra(corpus, name):
    binary = eisna.read(corpus / "biologic-mpr" / name)
    text = _quiet(biologic_mpt.read, corpus / "biologic-mpt" / name.replace(".mpr", ".mpt"))
    assert len(binary) == len(text)
    for b, t in zip(binary, text, strict=True):
        assert len(b) == len(t)
        np.testing.assert_allclose(b.freq, t.freq, rtol=1e-6)  # float32 vs 8 digits of text
        scale = float(np.abs(t.z).max())
        np.testing.assert_allclose(b.z, t.z, rtol=1e-5, atol=1e-6 * scale)
        assert b.meta["n_dropped"] == t.meta["n_dropped"]
        assert b.elapsed_s == pytest.approx(t.elapsed_s, abs=1e-6)


def test_mb_mpr_known_values(corpus):
    # mb.mpt: first impedance row (line 87 of the .mpt) and 8 sweeps of 70 points, 1 MHz to 0.1 Hz
    spectra = eisna.read(corpus / "biologic-mpr" / "mb.mpr")
    assert [len(s) for s in spectra] == [70] * 8
    first = spectra[0]
    assert first.freq[0] == pytest.approx(1.0000186e6, rel=1e-7)
    assert first.freq[-1] == pytest.approx(1.0e-1, rel=1e-3)
    mpr = biologic_mpr.read_mpr(corpus / "biologic-mpr" / "mb.mpr")
    assert {"Energy charge/W.h", "Capacitance discharge/µF"} <= set(mpr.columns)


@pytest.mark.parametrize(
    ("name", "ids"),
    [("mb.issue_218.mpr", {9, 20}), ("mb.issue_95.mpr", {20, 123, 124, 125, 126}), ("mb.mpr", {123, 126})],
)
def test_new_ids_are_twin_verified(corpus, name, ids):
    assert all(SOURCES[cid] == "twin" for cid in ids)
    mpr = biologic_mpr.read_mpr(corpus / "biologic-mpr" / name)
    assert {COLUMNS[cid][0] for cid in ids} <= set(mpr.columns)


@pytest.mark.parametrize("name", ["mb.issue_218", "mb.issue_95"])
def test_cycling_of_new_files_matches_mpt_reader(corpus, name):
    frame = biologic_mpr.read_cycling(corpus / "biologic-mpr" / f"{name}.mpr")
    reference = _quiet(biologic_mpt.read_cycling, corpus / "biologic-mpt" / f"{name}.mpt")
    assert len(frame) == len(reference)
    for column in ("time_s", "voltage_V", "current_A", "capacity_Ah"):
        np.testing.assert_allclose(frame[column], reference[column], rtol=1e-6, atol=1e-12, err_msg=column)
    assert frame["step"].tolist() == reference["step"].tolist()


def test_column_table_has_no_duplicate_ids_and_keeps_the_old_name():
    from eisna.io import biologic_mpr_columns

    ids = [entry[0] for entry in biologic_mpr_columns._ALL]
    assert len(ids) == len(set(ids))
    assert biologic_mpr.COLUMNS is COLUMNS  # the public name of the reader module is kept
    assert COLUMNS[434] == ("(Q-Qo)/C", "<f4") and SOURCES[434] == "doc"
    assert set(SOURCES.values()) == {"twin", "doc"}
