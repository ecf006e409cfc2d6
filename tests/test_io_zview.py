"""ZPlot/ZView ``.z`` reader on every corpus file."""

from __future__ import annotations

from datetime import datetime

import pytest

import eisna
from eisna.io._registry import find_reader

# (relative path, points, first freq Hz, first Z Ω, last freq Hz, last Z Ω, start date+time,
#  Time(Sec) of the first point), typed from the files' text
KNOWN = [
    (
        "impedancepy/Circuit1_EIS_1.z",
        48,
        5e4,
        29.036 + 0.63662j,
        1.0,
        75.803 - 0.16244j,
        datetime(2018, 10, 12, 12, 32, 21),
        2.59,
    ),
    (
        "impedancepy/Circuit1_EIS_2.z",
        48,
        5e4,
        29.001 + 0.5992j,
        1.0,
        75.82 - 0.17374j,
        datetime(2018, 10, 12, 12, 33, 17),
        2.58,
    ),
    (
        "impedancepy/Circuit2_EIS_1.z",
        56,
        3e5,
        147.77 - 11.335j,
        1.0,
        654.19 + 0.64271j,
        datetime(2018, 10, 12, 11, 4, 34),
        2.67,
    ),
    (
        "impedancepy/Circuit2_EIS_2.z",
        56,
        3e5,
        147.68 - 11.662j,
        1.0,
        652.44 - 2.118j,
        datetime(2018, 10, 12, 11, 13, 36),
        2.58,
    ),
    (
        "impedancepy/Circuit3_EIS_1.z",
        53,
        1.5e5,
        1493.7 + 10.377j,
        1.0,
        6137.5 + 17.89j,
        datetime(2018, 10, 12, 11, 41, 1),
        2.64,
    ),
    (
        "impedancepy/Circuit3_EIS_2.z",
        53,
        1.5e5,
        1492.0 + 11.789j,
        1.0,
        6138.2 - 10.151j,
        datetime(2018, 10, 12, 11, 42, 3),
        2.67,
    ),
    (
        "impedancepy/exampleDataZPlot.z",
        21,
        3e5,
        147.77 - 11.335j,
        3000.0,
        613.68 - 137.13j,
        datetime(2018, 10, 12, 11, 4, 34),
        2.67,
    ),
    (
        "impedancepy/exampleDataZPlot_noComments.z",
        31,
        3e5,
        642.62 - 85.821j,
        300.0,
        1305.3 - 195.01j,
        datetime(2019, 12, 17, 16, 24, 35),
        2.58,
    ),
    ("pyimpspec/data.z", 29, 1e4, 109.0092 - 26.55568j, 1.0, 645.4787 - 90.61813j, None, 0.0),
]


@pytest.mark.parametrize("known", KNOWN, ids=[k[0] for k in KNOWN])
def test_corpus_file(corpus, known):
    rel, n, f0, z0, f1, z1, start, t0 = known
    path = corpus / "other-formats" / rel
    assert find_reader(path).NAME == "zview-z"
    spectra = eisna.read(path)
    assert len(spectra) == 1
    s = spectra[0]
    assert len(s) == n and s.meta["n_dropped"] == 0
    assert s.freq[0] == pytest.approx(f0) and s.z[0] == pytest.approx(z0)
    assert s.freq[-1] == pytest.approx(f1) and s.z[-1] == pytest.approx(z1)
    assert s.elapsed_s == pytest.approx(t0)
    if start is None:
        assert s.timestamp is None
    else:
        assert (s.timestamp - start).total_seconds() == pytest.approx(t0)
    assert s.meta["technique"] == "PEIS"


def test_metadata(corpus):
    s = eisna.read(corpus / "other-formats/impedancepy/exampleDataZPlot.z")[0]
    assert s.meta["software_version"] == "3.2c"
    assert s.meta["ocp_V"] == pytest.approx(0.0033)
    assert s.meta["dc_potential_V"] == 0.0
    assert s.meta["header"]["Data Points"] == "56"  # the example was cut to 21 rows
    s = eisna.read(corpus / "other-formats/impedancepy/exampleDataZPlot_noComments.z")[0]
    assert "1.7 sccm CO, 1.50 sccm CO2, 800 C" in s.meta["comments"]
    assert s.meta["software_version"] == "3.2c"


def test_bad_row_counted(tmp_path, corpus):
    text = (corpus / "other-formats/pyimpspec/data.z").read_text()
    lines = text.splitlines()
    lines[5] = "garbage\tline"
    lines[6] = lines[6].replace("5.179475E+03", "0.000000E+00", 1)
    path = tmp_path / "bad.z"
    path.write_text("\n".join(lines) + "\n")
    s = eisna.read(path)[0]
    assert len(s) == 27 and s.meta["n_dropped"] == 2
