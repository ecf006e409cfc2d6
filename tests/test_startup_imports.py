"""Start-up: ``import eisna``, ``eisna --help`` and ``eisna info`` load no heavy libraries.

Each case runs in a fresh interpreter (``sys.modules`` of this test process already holds
everything the other tests imported) and prints the top-level packages it ended up with.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
SAMPLE = Path(__file__).resolve().parents[1] / "sample_spectra" / "nas_looped.mpt"

# never needed to start, to print help or to describe an impedance file
HEAVY = ("scipy", "matplotlib", "lmfit", "pandas", "polars", "fastnda", "openpyxl")

_PROBE = """
import contextlib, io, json, sys
{body}
print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}})))
"""


def _loaded(body: str) -> set[str]:
    """Top-level packages in ``sys.modules`` after running ``body`` in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(body=body)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def _cli(argv: list[str]) -> str:
    return (
        "from eisna.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        f"    code = main({argv!r})\n"
        "assert code == 0, (code, out.getvalue())\n"
        "assert out.getvalue(), 'no output'\n"
    )


def test_import_eisna_loads_no_heavy_library():
    loaded = _loaded("import eisna")
    assert "eisna" in loaded and "numpy" in loaded
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_help_loads_no_heavy_library():
    body = (
        "from eisna.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    code = main(['--help'])\n"
        "assert code == 0 and 'info' in out.getvalue()\n"
    )
    loaded = _loaded(body)
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_info_on_an_mpt_loads_no_heavy_library():
    loaded = _loaded(_cli(["info", str(SAMPLE)]))
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_info_on_an_absolute_time_mpt_loads_no_heavy_library(tmp_path):
    """Its date order, reason and time origin are printed from the spectra's meta, nothing more."""
    from .test_io_biologic_abstime import _small

    path = tmp_path / "abs.mpt"
    rows = ["05/13/2023 10:00:00.0000", "05/13/2023 10:00:01.5000"]
    path.write_bytes(_small(rows, "05/13/2023 09:59:00.000"))
    body = _cli(["info", str(path)]) + "assert 'date order: MDY' in out.getvalue(), out.getvalue()\n"
    loaded = _loaded(body)
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


@pytest.mark.parametrize("name", ["biologic-mpr/peis.mpr", "biologic-mpt/geis.mpt"])
def test_info_on_corpus_impedance_files_loads_no_heavy_library(corpus, name):
    loaded = _loaded(_cli(["info", str(corpus / name)]))
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_info_on_a_cycling_file_still_reads_the_cycling_rows(corpus, capsys):
    # the Modulo Bat .mpr holds 8 spectra and 1588 cycling rows: pandas is imported for those
    from eisna.cli import main

    assert main(["info", str(corpus / "biologic-mpr" / "mb.mpr")]) == 0
    out = capsys.readouterr().out
    assert "  spectra: 8; points per spectrum: 70" in out
    assert "  cycling rows: 1588" in out


def test_info_on_a_neware_binary_loads_no_pandas(corpus):
    loaded = _loaded(_cli(["info", str(corpus / "neware-ndax" / "test.ndax")]))
    assert "fastnda" in loaded  # the records are decoded, only the pandas frame is skipped
    assert loaded.isdisjoint(HEAVY[:4]), sorted(loaded & set(HEAVY[:4]))


@pytest.mark.parametrize(
    "name",
    ["neware-ndax/test.ndax", "neware-ndax/empty.ndax", "neware-nda/nda_v8.nda", "neware-nda/TestFile.nda"],
)
def test_cycling_overview_matches_read_cycling(corpus, name):
    from datetime import timedelta

    from eisna.io import read_cycling
    from eisna.io.neware_nda import cycling_overview

    count, start = cycling_overview(corpus / name)
    frame = read_cycling(corpus / name)
    assert count == len(frame)
    if len(frame):
        first = frame["timestamp"].iloc[0].to_pydatetime()
        assert start == first - timedelta(seconds=float(frame["time_s"].iloc[0]))
    else:
        assert start is None


def test_info_on_a_neware_binary_prints_rows_and_start(corpus, capsys):
    # test.ndax: 1464 records; the first at 2024-02-01 20:24:23 UTC with total time 0 s
    from eisna.cli import main

    assert main(["info", str(corpus / "neware-ndax" / "test.ndax")]) == 0
    out = capsys.readouterr().out
    assert "  spectra: none (no impedance data)\n  cycling rows: 1464\n" in out
    assert "  start time: 2024-02-01 20:24:23+00:00\n" in out
