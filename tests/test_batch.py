"""eisna.batch and the batch CLI: outputs, failed rows, resume, executors (process pool, Dask)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

import eisna
from eisna.batching import expand_paths
from eisna.cli import main
from eisna.errors import EisnaError

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_spectra"
TRUTH = json.loads((SAMPLES / "truth.json").read_text(encoding="utf-8"))
NAS_TRUE_R_INT = {s["file"].split("/")[-1]: s["params"]["R_int"] for s in TRUTH["NAS"]["spectra"]}


def _copy(tmp_path: Path, numbers, name="cell") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for i in numbers:
        shutil.copy(SAMPLES / "nas" / f"nas_t{i:02d}.mpt", folder)
    return folder


def _strict_json(path: Path):
    def no_nan(token):
        raise ValueError(f"{path.name} holds {token}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=no_nan)


def test_corrupt_file_gives_one_failed_row_and_all_others_fitted(tmp_path):
    folder = _copy(tmp_path, [40, 41, 42])
    good = (folder / "nas_t41.mpt").read_bytes()
    (folder / "nas_t41b.mpt").write_bytes(good[:3000])  # truncated inside the data
    out = tmp_path / "out"
    series = eisna.batch(folder, "symmetric_interlayer", out=out, report=False)
    assert len(series) == 4
    failed = [r for r in series.results if not r.success]
    assert len(failed) == 1 and failed[0].source.endswith("nas_t41b.mpt") and failed[0].reason
    with (out / "results.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["status"] for r in rows].count("failed") == 1
    ok = [r for r in rows if r["status"] == "ok"]
    assert len(ok) == 3
    for r in ok:
        assert r["interlayer"] == "True"
        true = NAS_TRUE_R_INT[Path(r["source"]).name]
        assert float(r["R_int"]) == pytest.approx(true, rel=0.05)
    bad = next(r for r in rows if r["status"] == "failed")
    # issue 14: the rows before the cut are read (with a TruncatedDataWarning); too few to fit
    assert bad["source"].endswith("nas_t41b.mpt") and "3 points give 6 residuals" in bad["reason"]
    # required columns, units in derived names, fit quality
    required = "source index timestamp time_h status interlayer R_int R_int_stderr Q_gb_stderr"
    derived = "ASR_int_per_interface_ohm_cm2 thickness_int_nm f_apex_int_Hz chisqr redchi bic delta_bic"
    for col in f"{required} {derived}".split():
        assert col in rows[0], col
    assert [float(r["time_h"]) for r in ok] == pytest.approx([0.0, 0.5, 1.0])
    # outputs are strict JSON and no temporary file is left behind
    res = _strict_json(out / "results.json")
    assert len(res["rows"]) == 4 and res["provenance"]["circuit"] == "symmetric_interlayer"
    assert {i["path"].split("/")[-1] for i in res["provenance"]["inputs"]} >= {"nas_t40.mpt", "nas_t41b.mpt"}
    kin = _strict_json(out / "kinetics.json")
    assert kin["n_interlayer"] == 3 and kin["n_failed"] == 1
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.slow
def test_interrupted_batch_resumes_and_refits_only_unfinished(tmp_path):
    folder = _copy(tmp_path, [30, 31, 32, 33, 34])
    out = tmp_path / "out"
    fitted: list[int] = []

    def stop_after_two(pos: int) -> None:
        fitted.append(pos)
        if len(fitted) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        eisna.batch(folder, "symmetric_interlayer", out=out, hook=stop_after_two)
    assert fitted == [0, 1]
    assert not (out / "results.csv").exists()

    refitted: list[int] = []
    series = eisna.batch(folder, "symmetric_interlayer", out=out, hook=refitted.append, report=False)
    assert refitted == [2, 3, 4]  # the two finished spectra came from the cache
    assert all(r.success for r in series.results)
    again: list[int] = []
    eisna.batch(folder, "symmetric_interlayer", out=out, hook=again.append, report=False)
    assert again == []  # a finished batch refits nothing
    changed: list[int] = []
    eisna.batch(folder, "symmetric_interlayer", out=out, hook=changed.append, report=False, delta_bic=-20.0)
    assert changed == [0, 1, 2, 3, 4]  # other options: other cache keys


def test_process_pool_with_ordered_chunks(tmp_path):
    folder = _copy(tmp_path, [20, 21, 22, 23])
    series = eisna.batch(
        folder, "symmetric_interlayer", out=tmp_path / "out", jobs=2, chunk_size=2, resume=False, report=False
    )
    assert [r.success for r in series.results] == [True] * 4
    for r in series.results:
        assert r.params["R_int"] == pytest.approx(NAS_TRUE_R_INT[Path(r.meta["source"]).name], rel=0.05)
    assert series.time_h.tolist() == pytest.approx([0.0, 0.5, 1.0, 1.5])


@pytest.mark.slow
def test_dask_local_cluster_executor(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    folder = _copy(tmp_path, [25, 26, 27, 28])
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        series = eisna.batch(
            folder,
            "symmetric_interlayer",
            out=tmp_path / "out",
            executor=client.get_executor(),
            chunk_size=2,
            report=False,
        )
        # the CLI connects by address and only disconnects: the cluster keeps running
        code = main(
            [
                "batch",
                str(folder / "nas_t25.mpt"),
                "--scheduler",
                cluster.scheduler_address,
                "--out",
                str(tmp_path / "cli"),
                "--no-report",
            ]
        )
        assert code == 0
        assert client.submit(sum, [1, 2]).result() == 3
    assert len(series) == 4 and all(series.interlayer)
    for r in series.results:
        assert r.params["R_int"] == pytest.approx(NAS_TRUE_R_INT[Path(r.meta["source"]).name], rel=0.05)
    assert (tmp_path / "out" / "results.csv").exists()


def test_cli_batch_exit_codes_and_summary(tmp_path, capsys):
    folder = _copy(tmp_path, [45, 46, 47])
    out = tmp_path / "cli-out"
    assert main(["batch", str(folder / "nas_t4*.mpt"), "--out", str(out), "--no-report"]) == 0
    text = capsys.readouterr().out
    assert "3/3 spectra fitted" in text
    assert (out / "results.csv").exists() and (out / "kinetics.json").exists()
    assert main(["batch", str(folder), "--jobs", "0"]) == 2
    assert main(["batch", str(tmp_path / "missing"), "--out", str(out)]) == 2  # bad usage (issue 14)
    assert "no such file or folder" in capsys.readouterr().err
    assert main(["batch", "--help"]) == 0
    assert "examples:" in capsys.readouterr().out


def test_expand_paths_orders_naturally_and_skips_outputs(tmp_path):
    folder = tmp_path / "data"
    (folder / "sub").mkdir(parents=True)
    for name in ("x_t10.mpt", "x_t2.mpt", "sub/x_t1.mpt", "notes.md", ".hidden.mpt"):
        (folder / name).write_text("EC-Lab ASCII FILE\n")
    (folder / "out").mkdir()
    (folder / "out" / "x_t0.mpt").write_text("EC-Lab ASCII FILE\n")
    files = expand_paths([folder], exclude=folder / "out")
    assert [f.relative_to(folder).as_posix() for f in files] == ["sub/x_t1.mpt", "x_t2.mpt", "x_t10.mpt"]
    assert [f.name for f in expand_paths([str(folder / "x_t*.mpt")])] == ["x_t2.mpt", "x_t10.mpt"]
    with pytest.raises(EisnaError, match="no such file or folder"):
        expand_paths([folder / "nope"])


def test_two_cells_are_separate_chains_with_their_own_kinetics(tmp_path):
    a = _copy(tmp_path, [36, 37], name="cellA")
    b = _copy(tmp_path, [38, 39], name="cellB")
    out = tmp_path / "out"
    series = eisna.batch([a, b], "symmetric_interlayer", out=out, report=False)
    assert len(series) == 4 and set(series.cells) == {str(a), str(b)}
    assert sorted(series.time_h.tolist()) == [0.0, 0.0, 0.5, 0.5]  # each cell's own clock
    kin = _strict_json(out / "kinetics.json")
    assert set(kin["cells"]) == {str(a), str(b)}
    assert all(c["n_spectra"] == 2 for c in kin["cells"].values())
    with (out / "results.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["cell"] for r in rows} == {str(a), str(b)}


def test_cli_batch_with_cycling_file(tmp_path, capsys):
    folder = _copy(tmp_path, [47, 48, 49])
    out = tmp_path / "cyc-out"
    cycling = str(SAMPLES / "nas_cycling.csv")
    assert main(["batch", str(folder), "--out", str(out), "--no-report", "--cycling", cycling]) == 0
    text = capsys.readouterr().out
    # the first of these spectra was taken 23 h after the set's first: cycling starts 1.5 h later
    assert "cycling: 48 half cycles, impedance series at -1.50 h on its clock; no soft short" in text
    assert (out / "cycling_summary.csv").exists()
    code = main(["batch", str(folder), "--out", str(out), "--cycling", cycling, "--tz", "Mars/Olympus"])
    assert code == 2  # bad usage, found before fitting (issue 14)
    assert "--tz Mars/Olympus: unknown time zone" in capsys.readouterr().err
