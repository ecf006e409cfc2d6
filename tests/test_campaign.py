"""Campaigns (issue 12 item 5): one task per cell on Dask or a process pool, streamed, resumable.

A small version of ``benchmarks/bench_campaign.py``: three cells of three spectra each.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import eisna
from eisna import _cluster
from eisna import campaign as campaign_mod
from eisna.cli import main
from eisna.errors import SchedulerError

REPO = Path(__file__).resolve().parents[1]
NAS = REPO / "sample_spectra" / "nas"
CELLS = {"a": [20, 21, 22], "b": [23, 24, 25], "c": [26, 27, 28]}


@pytest.fixture(scope="module")
def campaign_data(tmp_path_factory) -> tuple[Path, str]:
    """Three cells (one folder each) and the results.csv of the serial batch of them."""
    root = tmp_path_factory.mktemp("campaign")
    for cell, numbers in CELLS.items():
        folder = root / "data" / cell
        folder.mkdir(parents=True)
        for i in numbers:
            shutil.copy(NAS / f"nas_t{i:02d}.mpt", folder)
    eisna.batch([root / "data"], out=root / "serial", report=False, resume=False)
    return root / "data", (root / "serial" / "results.csv").read_text(encoding="utf-8")


def _markers(out: Path) -> dict[str, int]:
    return {p.parent.name: p.stat().st_mtime_ns for p in (out / "cells").glob("*/done.json")}


def test_process_pool_campaign_equals_serial_batch(campaign_data, tmp_path, capsys):
    data, serial_csv = campaign_data
    out = tmp_path / "out"
    code = main(["batch", str(data), "--out", str(out), "--campaign", "--jobs", "2", "--no-report"])
    assert code == 0
    assert "campaign of 3 cells (3 fitted now, 0 resumed, 0 failed)" in capsys.readouterr().out
    assert (out / "results.csv").read_text(encoding="utf-8") == serial_csv
    info = json.loads((out / "campaign.json").read_text(encoding="utf-8"))
    assert [c["status"] for c in info["cells"]] == ["fitted"] * 3
    assert [c["n_spectra"] for c in info["cells"]] == [3, 3, 3]
    assert info["n_spectra"] == 9 and info["n_failed"] == 0
    kinetics = json.loads((out / "kinetics.json").read_text(encoding="utf-8"))
    assert sorted(kinetics["cells"]) == sorted(str(data / c) for c in CELLS)
    for folder in (out / "cells").iterdir():  # each cell is a complete one-cell batch output
        names = {p.name for p in folder.iterdir()}
        assert {"results.csv", "results.json", "kinetics.json", "analysis.json", "done.json"} <= names
    _assert_joined_kinetics(out, info)


def _assert_joined_kinetics(out: Path, info: dict) -> None:
    """The joined kinetics.json: a batch's writer and style, each cell's block its own file's values."""
    from eisna.batching import dump_bytes

    joined = (out / "kinetics.json").read_bytes()
    kinetics = json.loads(joined)
    assert joined == dump_bytes(kinetics)  # orjson, two-space indent, as a batch's kinetics.json
    cells = {
        c["label"]: json.loads((out / c["folder"] / "kinetics.json").read_bytes()) for c in info["cells"]
    }
    assert list(kinetics["cells"]) == [c["label"] for c in info["cells"]]  # input order
    for label, own in cells.items():
        own.pop("cells", None)
        assert kinetics["cells"][label] == {**own, "cell": label}
    main_cell = max(info["cells"], key=lambda c: int(c.get("n_interlayer") or 0))["label"]
    assert {k: v for k, v in kinetics.items() if k != "cells"} == kinetics["cells"][main_cell]


def test_joined_kinetics_is_streamed_in_a_batchs_style(tmp_path):
    """Unusual cell contents: non-ASCII labels, long arrays, nested lists, empty mappings."""
    from eisna import _campaign_join
    from eisna.batching import dump_bytes
    from eisna.campaign import CampaignResult, CellRecord

    kinetics = {
        "Zürich cell/1": {"model": "jmak", "k_per_h": 1e-05, "t_h": [0.5 * k for k in range(12)], "fit": {}},
        "b": {"cells": {"stale": 1}, "pairs": [[1.0, -2.5]] * 9, "note": 'a\nb "quoted"', "n": 2**70},
        "c": {},
    }
    records = []
    for k, (label, kin) in enumerate(kinetics.items()):
        folder = tmp_path / "cells" / f"cell{k}"
        folder.mkdir(parents=True)
        (folder / "kinetics.json").write_bytes(dump_bytes(kin))
        records.append(CellRecord(label, f"cell{k}", "fitted", {"n_interlayer": 3 if label == "b" else 1}))
    records.append(CellRecord("failed", "cell9", "error", {"error": "boom"}))
    result = CampaignResult(tmp_path, tuple(records), (), (), 1.0, 1)
    _campaign_join._join_kinetics(tmp_path / "kinetics.json", result, [])
    joined = (tmp_path / "kinetics.json").read_bytes()
    cells = {
        label: {**{k: v for k, v in kin.items() if k != "cells"}, "cell": label}
        for label, kin in kinetics.items()
    }
    expected = {**cells["b"], "cells": cells}  # the cell with the most interlayer spectra on top
    assert json.loads(joined) == expected
    assert joined == dump_bytes(expected)
    assert b'"k_per_h": 0.00001' in joined and b"Z\xc3\xbcrich" in joined  # orjson's floats, UTF-8
    # no finished cell: an empty "cells" mapping
    _campaign_join._join_kinetics(
        tmp_path / "kinetics.json", CampaignResult(tmp_path, tuple(records[3:]), (), (), 1.0, 1), []
    )
    assert (tmp_path / "kinetics.json").read_bytes() == dump_bytes({"cells": {}})


def test_interrupted_campaign_resumes_only_the_remaining_cells(campaign_data, tmp_path, monkeypatch):
    data, serial_csv = campaign_data
    out = tmp_path / "out"
    store = campaign_mod._store_cell
    stored: list[str] = []

    def store_then_die(out_dir, cell, output):
        store(out_dir, cell, output)
        stored.append(cell.label)
        raise KeyboardInterrupt  # the run is killed right after its first finished cell

    monkeypatch.setattr(campaign_mod, "_store_cell", store_then_die)
    with pytest.raises(KeyboardInterrupt):
        eisna.batch([data], out=out, report=False, campaign=True, jobs=2)
    monkeypatch.setattr(campaign_mod, "_store_cell", store)
    assert len(stored) == 1 and not (out / "results.csv").exists()
    before = _markers(out)
    assert len(before) == 1

    again = eisna.batch([data], out=out, report=False, campaign=True, jobs=2)
    assert again.count("resumed") == 1 and again.count("fitted") == 2
    assert [c.status for c in again.cells if c.label == stored[0]] == ["resumed"]
    after = _markers(out)
    assert len(after) == 3
    assert {k: after[k] for k in before} == before  # the finished cell was not written again
    assert (out / "results.csv").read_text(encoding="utf-8") == serial_csv

    # a cell whose input changed is fitted again, the others are not
    changed = data / "b" / "nas_t23.mpt"
    saved = changed.read_bytes()
    try:
        shutil.copy(NAS / "nas_t30.mpt", changed)
        third = eisna.batch([data], out=out, report=False, campaign=True, jobs=2)
    finally:
        changed.write_bytes(saved)
    assert [c.status for c in third.cells] == ["resumed", "fitted", "resumed"]


def test_unreachable_scheduler_is_a_clear_error(campaign_data, tmp_path, monkeypatch, capsys):
    pytest.importorskip("dask.distributed", reason="needs dask[distributed] (eisna[dask])")
    data, _ = campaign_data
    monkeypatch.setattr(_cluster, "CONNECT_TIMEOUT_S", 0.5)
    address = "tcp://127.0.0.1:9"  # the discard port: nothing listens there
    with pytest.raises(
        SchedulerError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9"
    ) as err:
        eisna.batch([data], out=tmp_path / "out", scheduler=address)
    assert "dask scheduler" in str(err.value) and "dask worker" in str(err.value)
    assert main(["batch", str(data), "--out", str(tmp_path / "cli"), "--scheduler", address]) == 3
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in capsys.readouterr().err


def test_campaign_refuses_cycling_and_joint(campaign_data, tmp_path, capsys):
    data, _ = campaign_data
    args = ["batch", str(data), "--out", str(tmp_path / "o"), "--campaign"]
    assert main([*args, "--cycling", str(REPO / "sample_spectra" / "nas_cycling.csv")]) == 2
    assert "--cycling and --joint need a single batch" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _dask_processes(port: int):
    """A real ``dask scheduler`` and two ``dask worker --nthreads 1`` processes on localhost."""
    distributed = pytest.importorskip("dask.distributed", reason="needs dask[distributed] (eisna[dask])")
    dask_cli = Path(sys.executable).parent / "dask"
    if not dask_cli.exists():
        pytest.skip("the dask command is not installed next to this Python")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    procs = [
        subprocess.Popen(
            [
                dask_cli,
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--dashboard-address",
                ":0",
                "--no-show",
            ],
            **quiet,
        )
    ]
    procs += [
        subprocess.Popen(
            [dask_cli, "worker", address, "--nthreads", "1", "--no-dashboard", "--no-nanny"], **quiet
        )
        for _ in range(2)
    ]
    try:
        with distributed.Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address, procs[0]
    finally:
        for p in procs:
            p.kill()
            p.wait()


def _profiled_files(tree: dict) -> set[str]:
    """Source files of every frame in a Dask profile tree."""
    files = {tree["description"]["filename"]}
    for child in tree["children"].values():
        files |= _profiled_files(child)
    return files


def test_dask_campaign_survives_a_killed_scheduler_and_equals_serial_batch(
    campaign_data, tmp_path, monkeypatch
):
    """On real ``dask scheduler``/``dask worker`` processes: the scheduler killed after one cell is
    a clear error, the same command on the restarted cluster fits only the rest, the joined
    results.csv is byte-identical to a serial batch, the cluster is left running, and the
    workers' profiler never sampled the fits (it would grow the workers' memory cell by cell)."""
    distributed = pytest.importorskip("dask.distributed", reason="needs dask[distributed] (eisna[dask])")
    data, serial_csv = campaign_data
    out = tmp_path / "out"
    store = campaign_mod._store_cell
    # a lost scheduler is noticed when the client gives up reconnecting (CONNECT_TIMEOUT_S)
    monkeypatch.setattr(_cluster, "CONNECT_TIMEOUT_S", 2.0)
    port = _free_port()
    with _dask_processes(port) as (address, scheduler):

        def store_then_kill_scheduler(out_dir, cell, output):
            marker = store(out_dir, cell, output)
            if len(_markers(out_dir)) == 1:
                scheduler.send_signal(signal.SIGKILL)  # the scheduler dies after the first cell
                scheduler.wait()
            return marker

        monkeypatch.setattr(campaign_mod, "_store_cell", store_then_kill_scheduler)
        with pytest.raises(
            SchedulerError, match=r"lost the Dask scheduler at tcp://.* after 1 of 3 cells"
        ) as err:
            eisna.batch([data], out=out, report=False, scheduler=address, window=1)
        assert "run the same command again" in str(err.value)
    monkeypatch.setattr(campaign_mod, "_store_cell", store)
    kept = _markers(out)
    assert len(kept) == 1
    with _dask_processes(port) as (address, _scheduler):  # restarted on the same address
        again = eisna.batch([data], out=out, report=False, scheduler=address)
        assert isinstance(again, campaign_mod.CampaignResult)
        assert again.workers == 2
        assert again.count("resumed") == 1 and again.count("fitted") == 2
        assert {k: v for k, v in _markers(out).items() if k in kept} == kept  # not written again
        assert (out / "results.csv").read_text(encoding="utf-8") == serial_csv
        with distributed.Client(address, timeout="30s") as client:  # disconnected, not shut down
            assert client.submit(sum, [1, 2]).result() == 3
            sampled = _profiled_files(client.profile())
    fit_code = [f for f in sampled if f"eisna{os.sep}series" in f or f"eisna{os.sep}fitting" in f]
    assert fit_code == []
    cluster_py = str(Path(_cluster.__file__).resolve())
    assert any(str(Path(f).resolve()) == cluster_py for f in sampled if f)  # the tasks were sampled


def test_run_unsampled_returns_and_raises_from_its_own_thread():
    import threading

    def cell(a: int, b: int = 0) -> tuple[int, str]:
        return a + b, threading.current_thread().name

    def bad_cell() -> None:
        raise ValueError("bad cell")

    assert _cluster.run_unsampled(cell, 1, b=2) == (3, "eisna-cell")
    with pytest.raises(ValueError, match="bad cell"):
        _cluster.run_unsampled(bad_cell)
