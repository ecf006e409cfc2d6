"""One clock per cell (issue 9 item 5): grouping of files into cells and each cell's time source."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from eisna.errors import MetadataWarning
from eisna.series.ordering import cell_label
from eisna.series.run import _plan_chains
from eisna.spectrum import Spectrum


def test_eclab_files_of_one_experiment_are_one_cell():
    a = cell_label(Path("/d/LLZO_sym_01_PEIS_C01.mpt"), 1)
    b = cell_label(Path("/d/LLZO_sym_03_PEIS_C01.mpt"), 1)
    c = cell_label(Path("/d/LLZO_sym_03_PEIS_C02.mpt"), 1)
    assert a == b == "/d/LLZO_sym C01" and c == "/d/LLZO_sym C02"
    assert cell_label(Path("/d/x_t10.mpt"), 1) == "/d"  # other names: the folder, as before
    assert cell_label(Path("/d/loop.mpt"), 32) == "/d/loop.mpt"  # a looped file is one cell


def test_group_by_regex_overrides():
    assert cell_label(Path("/d/cellA_t1.csv"), 1, r"^(cell[A-Z])") == "/d/cellA"
    assert cell_label(Path("/d/cellA_t2.csv"), 5, r"^(cell[A-Z])") == "/d/cellA"
    assert cell_label(Path("/d/other.csv"), 1, r"^(cell[A-Z])") == "/d/other.csv"


def _spectrum(source: str, index: int) -> Spectrum:
    f = np.logspace(5, -1, 20)
    z = 10 + 100 / (1 + 2j * np.pi * f * 1e-4)
    return Spectrum(freq=f, z=z, timestamp=None, elapsed_s=None, meta={"source": source, "index": index})


def test_cells_without_clock_warn_once_each_and_start_at_zero():
    spectra = [_spectrum(f"/a/s{i}.csv", 0) for i in range(3)]
    spectra += [_spectrum(f"/b/s{i}.csv", 0) for i in range(2)]
    groups = ["/a"] * 3 + ["/b"] * 2
    with pytest.warns(MetadataWarning, match="file order") as rec:
        plan = _plan_chains(spectra, groups, None, "k")
    assert sum("file order" in str(w.message) for w in rec) == 2  # once per cell
    assert plan.time_h.tolist() == [0.0, 1.0, 2.0, 0.0, 1.0]
    assert plan.time_sources == {"/a": "file order", "/b": "file order"}


def test_interval_gives_a_clock_without_warning():
    spectra = [_spectrum(f"/a/s{i}.csv", 0) for i in range(3)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", MetadataWarning)
        plan = _plan_chains(spectra, None, None, "k", interval_h=0.5)
    assert plan.time_h.tolist() == [0.0, 0.5, 1.0] and plan.time_sources == {None: "interval"}


def test_batch_gives_each_cell_its_own_tracks_and_clock(tmp_path):
    import shutil

    import pandas as pd

    import eisna

    from .conftest import SAMPLES

    for name, numbers in (("cellA", range(30, 37)), ("cellB", range(40, 47))):
        (tmp_path / name).mkdir()
        for i in numbers:
            shutil.copy(SAMPLES / "nas" / f"nas_t{i:02d}.mpt", tmp_path / name)
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        series = eisna.batch([tmp_path / "cellA", tmp_path / "cellB"], out=out, report=False, track="R_total")
    tracks = pd.read_csv(out / "tracks.csv")
    assert sorted(tracks["cell"]) == sorted([str(tmp_path / "cellA"), str(tmp_path / "cellB")])
    assert (tracks["n"] == 7).all() and (tracks["quantity"] == "R_dc_ohm").all()
    for t in series.tracks:  # each on its own clock from 0 (spectra 30 min apart)
        assert t.t_h[0] == 0.0 and t.t_h[-1] == pytest.approx(3.0, abs=0.01)
    rows = pd.read_csv(out / "results.csv")
    assert set(rows["time_source"]) == {"timestamp"}
