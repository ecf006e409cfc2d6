"""Mixed series of the automatic choice (stop 22): rows fitted with another circuit, R_SE without
the resistances counted as interfacial in the joint fit and the tracks, and a folder holding a
pellet and a cell.

The mixed folder is the five sample pellets (blocking electrodes, 25–105 °C) and the first six
spectra of the sample Na cell (``nas/nas_t01``–``t06``), as a user who puts both in one folder
and runs ``eisna batch DIR`` would have it.
"""

from __future__ import annotations

import csv
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

import eisna
from eisna import CellGeometry
from eisna.circuit import load_circuit
from eisna.errors import MixedSampleWarning
from eisna.fitting.synthetic import FREQ_CELL_WIDE, noisy_spectrum
from eisna.series.choice import BLOCKING_CIRCUIT, SPLIT_SUFFIX, split_mixed_cells
from eisna.series.tracks import _unidentified_splits, se_sum_note

SAMPLES = Path(__file__).resolve().parents[1] / "sample_spectra"
N_PELLET, N_CELL = 5, 6


def _mixed_folder(root: Path) -> Path:
    folder = root / "mix"
    folder.mkdir()
    for f in sorted((SAMPLES / "pellet").glob("*.mpt")):
        shutil.copy(f, folder / f.name)
    for k in range(1, N_CELL + 1):
        shutil.copy(SAMPLES / "nas" / f"nas_t{k:02d}.mpt", folder / f"nas_t{k:02d}.mpt")
    return folder


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """(folder, out folder, SeriesResult, warnings) of ``eisna.batch(folder, "auto")``."""
    root = tmp_path_factory.mktemp("mixed")
    folder = _mixed_folder(root)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        series = eisna.batch([folder], "auto", out=root / "out", progress=False)
    return folder, root / "out", series, caught


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# -- 1. each row's curve from the circuit it was fitted with -------------------------------------
def test_results_rows_keep_every_parameter_of_their_own_circuit(mixed):
    _, out, _, _ = mixed
    rows = _csv(out / "results.csv")
    pellets = [r for r in rows if r["model"] == BLOCKING_CIRCUIT]
    assert len(pellets) == N_PELLET
    for r in pellets:  # the electrode spike's CPE (not a parameter of the series circuit)
        assert float(r["Q_el"]) > 0 and 0.4 <= float(r["n_el"]) <= 1.0
    cells = [r for r in rows if r["model"] != BLOCKING_CIRCUIT]
    assert all(r["Q_el"] == "" for r in cells)


def test_report_of_an_old_folder_draws_each_row_with_its_own_circuit(mixed, tmp_path):
    """A folder without analysis.json (and results.json without stored curves): the report
    re-reads the spectra and draws each row's curve from the circuit in its ``model`` column."""
    from eisna.report.render import _legacy_folder

    _, out, series, _ = mixed
    old = tmp_path / "old"
    old.mkdir()
    stored = json.loads((out / "results.json").read_text(encoding="utf-8"))
    (old / "results.json").write_text(
        json.dumps({"provenance": stored["provenance"], "rows": stored["rows"]}), encoding="utf-8"
    )
    rows, prov, _, spectra = _legacy_folder(old, None, None)
    assert prov["circuit"] == "auto"  # no circuit of that name: the rows' own circuits are used
    models = [r["model"] for r in rows]
    assert BLOCKING_CIRCUIT in models and "symmetric_cell" in models and "symmetric_interlayer" in models
    fits = {(r.meta["source"], r.meta["index"]): r for r in series.results}
    for row, spec in zip(rows, spectra, strict=True):
        assert spec is not None and spec.get("z_fit") is not None, row["model"]
        fit = fits[(row["source"], row["index"])]
        assert fit.circuit_name == row["model"]
        np.testing.assert_allclose(spec["z_fit"], fit.z_fit, rtol=1e-9)


def test_stored_analysis_curve_of_each_row_is_its_own_fit(mixed):
    _, out, series, _ = mixed
    analysis = json.loads((out / "analysis.json").read_text(encoding="utf-8"))
    for rec, fit in zip(analysis["spectra"], series.results, strict=True):
        assert rec["circuit_name"] == fit.circuit_name
        z = np.asarray(rec["curve_z"], dtype=float) @ np.array([1.0, 1.0j])
        np.testing.assert_allclose(z, fit.predict(np.asarray(rec["curve_freq"])), rtol=1e-9)


# -- 3. pellet and cell in one folder --------------------------------------------------------------
def test_a_folder_of_pellet_and_cell_is_split_into_two_cells(mixed):
    folder, _, series, caught = mixed
    said = [w for w in caught if issubclass(w.category, MixedSampleWarning)]
    assert len(said) == 1
    assert "5 spectra ending in a blocking-electrode spike" in str(said[0].message)
    assert "almost surely two samples" in str(said[0].message)
    (split,) = series.sample_splits
    assert split.cell == str(folder)
    assert (split.n_blocking, split.n_other) == (N_PELLET, N_CELL)
    assert split.blocking_cell == str(folder) + SPLIT_SUFFIX and split.other_cell == str(folder)
    for res, cell in zip(series.results, series.cells, strict=True):
        blocking = res.circuit_name == BLOCKING_CIRCUIT
        assert cell == (split.blocking_cell if blocking else split.other_cell)
    # each cell on its own clock, starting at 0
    for label in (split.blocking_cell, split.other_cell):
        assert float(np.min(series.time_h[series._cell_mask(label)])) == 0.0


def test_tracks_never_mix_the_two_samples(mixed):
    _, out, series, _ = mixed
    rows = _csv(out / "tracks.csv")
    r_se = {r["cell"]: r for r in rows if r["quantity"] == "R_SE_ohm"}
    (split,) = series.sample_splits
    assert set(r_se) == {split.blocking_cell, split.other_cell}
    assert r_se[split.blocking_cell]["sample_kind"] == "blocking"
    assert r_se[split.other_cell]["sample_kind"] == "non-blocking"
    assert all(r["sample_kind"] for r in rows)
    assert "two samples, tracked apart" in r_se[split.other_cell]["note"]
    # the cell's R_SE track holds the cell's values only (~63 Ω, not the pellets' 84–660 Ω)
    assert float(r_se[split.other_cell]["n"]) == N_CELL
    assert 55 < float(r_se[split.other_cell]["final"]) < 70
    assert float(r_se[split.blocking_cell]["n"]) == N_PELLET
    for track in series.tracks:
        kinds = {series.results[i].circuit_name == BLOCKING_CIRCUIT for i in track.rows}
        assert len(kinds) == 1, track.quantity
    # the interlayer kinetics are the cell's (the one with detections)
    kin = json.loads((out / "kinetics.json").read_text(encoding="utf-8"))
    assert kin["cell"] == split.other_cell and kin["sample_kind"] == "non-blocking"
    assert kin["cells"][split.blocking_cell]["sample_kind"] == "blocking"
    assert kin["sample_splits"][0]["n_blocking"] == N_PELLET
    assert "almost surely two samples" in kin["sample_splits"][0]["reason"]


def test_report_says_two_samples_were_in_one_cell(mixed):
    _, out, _, _ = mixed
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Two samples in one cell:" in html
    assert "almost surely two samples" in html


def test_batch_command_prints_the_split(tmp_path, capsys):
    from eisna.cli import main

    folder = _mixed_folder(tmp_path)
    code = main(["batch", str(folder), "--out", str(tmp_path / "out"), "--no-report"])
    captured = capsys.readouterr()
    assert code == 0
    assert "two samples in one cell: cell " in captured.out
    assert "warning: cell " in captured.err and "almost surely two samples" in captured.err


def test_split_rule_on_labels():
    # one cell of both kinds (no cells given): two cells
    with pytest.warns(MixedSampleWarning, match="the series mixes 1 spectrum ending"):
        labels, splits = split_mixed_cells([True, False, False], None)
    assert labels == ["cell" + SPLIT_SUFFIX, "cell", "cell"]
    assert splits[0].kind_of("cell") == "non-blocking"
    # --group-by cells: only the mixed one is split
    with pytest.warns(MixedSampleWarning, match="cell A mixes 1 spectrum ending"):
        labels, splits = split_mixed_cells([True, False, True, True], ["A", "A", "B", "B"])
    assert labels == ["A" + SPLIT_SUFFIX, "A", "B", "B"]
    assert len(splits) == 1 and splits[0].cell == "A"
    # nothing mixed: labels unchanged, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert split_mixed_cells([True, True], None) == (None, ())
        assert split_mixed_cells([False, True], ["A", "B"]) == (["A", "B"], ())


def test_an_explicit_circuit_does_not_split(mixed):
    folder, _, _, _ = mixed
    spectra = [s for f in sorted(folder.glob("pellet_0[24]*.mpt")) for s in eisna.read(f)]
    spectra += eisna.read(folder / "nas_t01.mpt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        series = eisna.fit_series(spectra, "symmetric_cell", baseline=None, progress=False)
    assert series.sample_splits == () and series.cells == ()
    assert "sample_kind" not in series.tracks_frame().columns


# -- 2. R_SE without the resistances counted as interfacial --------------------------------------
GEOMETRY = CellGeometry(0.1, 0.785)


def _electrode_gb_cell(seed: int):
    """symmetric_two_arcs with the "grain boundary" arc at 30 µF: counted as interfacial."""
    defn = load_circuit("symmetric_two_arcs")

    def q(r: float, c: float, n: float) -> float:
        return (r * c) ** n / r

    truth = {
        "L": 2e-7,
        "R_b": 50.0,
        "R_gb": 40.0,
        "Q_gb": q(40.0, 30e-6, 0.95),
        "n_gb": 0.95,
        "R_ct": 200.0,
        "Q_ct": q(200.0, 3e-4, 0.9),
        "n_ct": 0.9,
    }
    return noisy_spectrum(defn, truth, FREQ_CELL_WIDE, 0.002, np.random.default_rng(seed))


@pytest.fixture(scope="module")
def electrode_gb_series():
    spectra = [_electrode_gb_cell(seed) for seed in (11, 12, 13)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return eisna.fit_series(
            spectra, "symmetric_two_arcs", baseline=None, geometry=GEOMETRY, fallback=False, progress=False
        )


def test_joint_r_se_leaves_out_what_the_single_fits_counted_as_interfacial(electrode_gb_series):
    series = electrode_gb_series
    assert all(r.meta["interfacial_resistances"] == ("R_gb",) for r in series.results)
    joint = eisna.fit_joint(None, initial=series, shared=("n_gb",))
    r_se, e = joint.value("R_SE")
    r_b, e_b = joint.value("R_b")
    np.testing.assert_array_equal(r_se, r_b)  # was R_b + R_gb (~90 Ω)
    np.testing.assert_allclose(r_se, 50.0, rtol=0.02)
    np.testing.assert_allclose(e, e_b, rtol=1e-9)
    assert joint.se_excluded == (("R_gb",),) * 3
    assert joint.se_note == "R_SE = R_b (R_gb counted as interfacial in 3 spectra)"
    frame = joint.to_frame()
    assert list(frame["R_SE_excluded"]) == ["R_gb"] * 3
    # total resistance still sums every R
    r_total, _ = joint.value("R_total")
    assert r_total == pytest.approx(r_b + joint.value("R_gb")[0] + joint.value("R_ct")[0], rel=1e-12)


def test_joint_r_se_of_ordinary_fits_is_unchanged(electrode_gb_series):
    """Fits without reassigned arcs: R_SE = R_b + R_gb and no new column."""
    from dataclasses import replace

    fits = [replace(r, meta={**r.meta, "interfacial_resistances": ()}) for r in electrode_gb_series.results]
    joint = eisna.fit_joint(None, initial=fits, shared=("n_gb",))
    r_se, _ = joint.value("R_SE")
    np.testing.assert_allclose(r_se, joint.value("R_b")[0] + joint.value("R_gb")[0], rtol=1e-12)
    assert joint.se_excluded == () and joint.se_note == ""
    assert "R_SE_excluded" not in joint.to_frame().columns


def test_tracks_note_says_what_r_se_holds(electrode_gb_series):
    r_se = next(t for t in electrode_gb_series.tracks if t.quantity == "R_SE_ohm")
    assert "R_SE = R_b (R_gb counted as interfacial in 3 spectra)" in r_se.note
    assert "R_b + R_gb" not in r_se.note


def test_unidentified_split_note_names_the_reassigned_arc():
    v = np.array([50.0, 51.0, 49.0, 50.5, 50.2, 49.8])
    columns = {
        "R_b": (v, v * 0.01, 0.0),
        "R_gb": (v * 0.8, v * 0.01, 0.5),  # flagged in half the spectra: split not identified
        "R_SE_ohm": (v, v * 0.01, 0.0),
    }
    words = se_sum_note(["R_b", "R_gb"] * 6, [("R_gb",)] * 6)
    notes = _unidentified_splits(columns, None, words)
    assert notes["R_SE_ohm"].endswith(
        "; R_SE = R_b (R_gb counted as interfacial in 6 spectra) tracked instead"
    )
    assert "R_SE = R_b + R_gb" not in notes["R_SE_ohm"]
    # without a reassigned arc the note is as before
    assert _unidentified_splits(columns)["R_SE_ohm"].endswith("; R_SE = R_b + R_gb tracked instead")


def test_se_sum_note_in_words():
    assert se_sum_note(["R_b", "R_gb"] * 3, [(), (), ()]) == ""
    assert (
        se_sum_note(["R_b", "R_gb"] * 6, [("R_gb",), ("R_gb",), (), (), (), ()])
        == "R_SE = R_b + R_gb (R_gb counted as interfacial, and left out, in 2 of 6 spectra)"
    )
    assert (
        se_sum_note(["R_b", "R_gb"] * 2, [("R_b", "R_gb")] * 2)
        == "R_SE not identified (R_b counted as interfacial in 2 spectra; "
        "R_gb counted as interfacial in 2 spectra)"
    )
    assert (
        se_sum_note(["R_b"], [("R_b",)]) == "R_SE not identified (R_b counted as interfacial in 1 spectrum)"
    )


def test_campaign_keeps_the_two_samples_apart(tmp_path, capsys):
    """A campaign cell (one task) holding a pellet and a cell: split as in a single batch."""
    from eisna.cli import main

    folder = _mixed_folder(tmp_path)
    code = main(["batch", str(folder), "--campaign", "--jobs", "1", "--out", str(tmp_path / "out")])
    assert code == 0
    assert "two samples in one cell: cell " in capsys.readouterr().out
    rows = _csv(tmp_path / "out" / "tracks.csv")
    r_se = {r["cell"]: r for r in rows if r["quantity"] == "R_SE_ohm"}
    assert set(r_se) == {str(folder), str(folder) + SPLIT_SUFFIX}
    assert r_se[str(folder)]["sample_kind"] == "non-blocking"
    assert 55 < float(r_se[str(folder)]["final"]) < 70  # the cell's R_SE alone


def test_fit_table_names_each_rows_circuit_when_a_series_used_several():
    from types import SimpleNamespace

    from eisna.report.render import _fit_table

    def fit(circuit, params):
        return SimpleNamespace(
            circuit_name=circuit,
            params=params,
            stderr={},
            z_fit=np.ones(3),
            success=True,
            redchi=1.0,
            meta={},
        )

    mixed = [fit("symmetric_interlayer", {"R_b": 10.0}), fit("pellet_blocking", {"R_b": 20.0})]
    html = _fit_table(mixed, np.array([0.0, 1.0]), [None, None])
    assert "<th>circuit</th>" in html
    assert html.index("symmetric_interlayer") < html.index("pellet_blocking")
    # one circuit for every row: no column (the sample reports stay as they were)
    same = _fit_table(mixed[:1] * 2, np.array([0.0, 1.0]), [None, None])
    assert "<th>circuit</th>" not in same and "symmetric_interlayer" not in same
