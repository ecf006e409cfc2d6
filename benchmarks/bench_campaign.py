#!/usr/bin/env python3
"""Benchmark a campaign (issue 12 item 5): N cells × 49 spectra on a real Dask cluster and a pool.

Usage::

    python benchmarks/bench_campaign.py --cells 20 50 200            # Dask and the process pool
    python benchmarks/bench_campaign.py --cells 20 --modes dask --kill-cells 50

Each cell is a copy of ``sample_spectra/nas_looped.mpt`` (49 spectra, one cell per file) in a
temporary folder. ``dask`` mode starts ``dask scheduler`` and two ``dask worker --nthreads 1``
processes (each with its nanny, as ``dask worker`` runs by default) on localhost (fresh for
every run) and runs
``eisna batch DATA --scheduler tcp://127.0.0.1:PORT --out OUT --no-report`` as a subprocess;
``pool`` mode runs ``eisna batch DATA --campaign --jobs 2 --out OUT --no-report``. Printed per
run: wall time, ms per spectrum, peak RSS (VmHWM) of the ``eisna batch`` process and of its
workers.

``--kill-cells N``: a campaign of N cells on Dask whose scheduler is killed (SIGKILL) once 40 %
of the cells are done; the batch must exit with status 3, then the scheduler and workers are
restarted and the same command run again: it must fit only the remaining cells, leave the
finished ones untouched and write the complete results.csv.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "sample_spectra" / "nas_looped.mpt"
BIN = Path(sys.executable).parent
N_PER_CELL = 49
DASK = [str(BIN / "dask")]
SCHEDULER_OPTS = ["--dashboard-address", ":0", "--no-show"]
WORKER_OPTS = ["--nthreads", "1", "--nworkers", "1", "--no-dashboard", "--memory-limit", "0"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    env.setdefault("PYTHONWARNINGS", "ignore")
    return env


def _hwm_mb(pid: int) -> float:
    """Peak resident set size (VmHWM) of a live process in MB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _children(pid: int) -> list[int]:
    try:
        import psutil

        return [c.pid for c in psutil.Process(pid).children(recursive=True)]
    except Exception:
        return []


class Cluster:
    """``dask scheduler`` and ``dask worker`` processes on localhost."""

    def __init__(self, workers: int = 2) -> None:
        self.port = _free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.n_workers = workers
        self.scheduler: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []

    def start(self) -> Cluster:
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": _env()}
        self.scheduler = subprocess.Popen(
            [*DASK, "scheduler", "--host", "127.0.0.1", "--port", str(self.port), *SCHEDULER_OPTS],
            **quiet,
        )
        self.workers = [
            subprocess.Popen(
                [*DASK, "worker", self.address, *WORKER_OPTS],
                **quiet,
            )
            for _ in range(self.n_workers)
        ]
        self._wait_ready()
        return self

    def _wait_ready(self, timeout_s: float = 90.0) -> None:
        from distributed import Client

        t0 = time.perf_counter()
        while True:
            try:
                with Client(self.address, timeout="5s") as client:
                    client.wait_for_workers(self.n_workers, timeout=timeout_s)
                    return
            except OSError:
                if time.perf_counter() - t0 > timeout_s:
                    raise

    def worker_hwm_mb(self) -> float:
        pids = [pid for w in self.workers for pid in (w.pid, *_children(w.pid))]  # nanny and worker
        return max((_hwm_mb(pid) for pid in pids), default=0.0)

    def kill_scheduler(self) -> None:
        if self.scheduler is not None:
            self.scheduler.send_signal(signal.SIGKILL)
            self.scheduler.wait()

    def stop(self) -> None:
        for p in [*self.workers, self.scheduler]:
            if p is not None and p.poll() is None:
                p.terminate()
        for p in [*self.workers, self.scheduler]:
            if p is not None:
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()


def make_cells(folder: Path, n: int) -> Path:
    """``n`` copies of the 49-spectrum looped file, one cell each."""
    data = folder / f"data{n}"
    data.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        target = data / f"cell{i + 1:04d}_nas_looped.mpt"
        if not target.exists():
            shutil.copy(SOURCE, target)
    return data


def run_batch(args: list[str], *, kill: Cluster | None = None, kill_after: int = 0, out: Path | None = None):
    """Run ``eisna batch`` as a subprocess; peak RSS of it and its children; optional kill."""
    cmd = [sys.executable, "-c", "import sys; from eisna.cli import main; sys.exit(main())", "batch", *args]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    parent_mb = child_mb = 0.0
    killed = False
    while proc.poll() is None:
        parent_mb = max(parent_mb, _hwm_mb(proc.pid))
        child_mb = max([child_mb, *(_hwm_mb(c) for c in _children(proc.pid))])
        if kill is not None and not killed and out is not None and _n_done(out) >= kill_after:
            kill.kill_scheduler()
            killed = True
        time.sleep(0.2)
    stdout, stderr = proc.communicate()
    return {
        "code": proc.returncode,
        "wall_s": time.perf_counter() - t0,
        "parent_mb": parent_mb,
        "child_mb": child_mb,
        "stdout": stdout.strip(),
        "stderr": stderr.strip(),
    }


def _n_done(out: Path) -> int:
    return len(list((out / "cells").glob("*/done.json")))


def _rows(out: Path) -> int:
    with open(out / "results.csv", encoding="utf-8", newline="") as fh:
        return sum(1 for _ in csv.DictReader(fh))


def bench(mode: str, n: int, tmp: Path, jobs: int) -> dict:
    data = make_cells(tmp, n)
    out = tmp / f"out-{mode}-{n}"
    cluster = Cluster(jobs).start() if mode == "dask" else None
    try:
        where = ["--scheduler", cluster.address] if cluster else ["--campaign", "--jobs", str(jobs)]
        got = run_batch([str(data), "--out", str(out), "--no-report", *where])
        if cluster:
            got["child_mb"] = cluster.worker_hwm_mb()
    finally:
        if cluster:
            cluster.stop()
    if got["code"] != 0:
        raise SystemExit(f"{mode} {n} cells failed ({got['code']}): {got['stderr'][-2000:]}")
    spectra = _rows(out)
    assert spectra == n * N_PER_CELL, (spectra, n)
    info = json.loads((out / "campaign.json").read_text(encoding="utf-8"))
    busy = sum(c.get("task_seconds", c["fit_seconds"]) for c in info["cells"]) / (got["wall_s"] * jobs)
    per_worker = sorted(Counter(c["worker"] for c in info["cells"]).values())
    got.update(mode=mode, cells=n, spectra=spectra, ms_per_spectrum=1000 * got["wall_s"] / spectra)
    got.update(busy=busy, per_worker=per_worker, load=os.getloadavg()[0])
    shutil.rmtree(out)
    return got


def kill_and_resume(n: int, tmp: Path, jobs: int) -> dict:
    """Kill the scheduler once 40 % of the cells are done; restart; the re-run does the rest."""
    data = make_cells(tmp, n)
    out = tmp / f"out-kill-{n}"
    cluster = Cluster(jobs).start()
    args = [str(data), "--out", str(out), "--no-report", "--scheduler", cluster.address]
    try:
        first = run_batch(args, kill=cluster, kill_after=max(int(0.4 * n), 1), out=out)
    finally:
        cluster.stop()
    markers = {p: p.stat().st_mtime_ns for p in (out / "cells").glob("*/done.json")}
    cluster2 = Cluster(jobs)
    cluster2.port, cluster2.address = cluster.port, cluster.address  # the same address: same command
    cluster2.start()
    try:
        second = run_batch(args)
    finally:
        cluster2.stop()
    info = json.loads((out / "campaign.json").read_text(encoding="utf-8"))
    untouched = all(p.stat().st_mtime_ns == t for p, t in markers.items())
    return {
        "cells": n,
        "first_code": first["code"],
        "first_wall_s": first["wall_s"],
        "first_error": first["stderr"].splitlines()[-1] if first["stderr"] else "",
        "done_at_kill": len(markers),
        "second_code": second["code"],
        "second_wall_s": second["wall_s"],
        "n_resumed": info["n_resumed"],
        "n_fitted": info["n_fitted"],
        "rows": _rows(out),
        "finished_cells_untouched": untouched,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", type=int, nargs="+", default=[20, 50], help="cells per campaign")
    parser.add_argument("--modes", nargs="+", default=["dask", "pool"], choices=("dask", "pool"))
    parser.add_argument("--workers", type=int, default=2, help="dask workers / pool processes")
    parser.add_argument("--kill-cells", type=int, default=0, help="also run the kill-and-resume test")
    parser.add_argument("--tmp", type=Path, default=None, help="work folder (default: a temporary one)")
    args = parser.parse_args(argv)
    tmp = args.tmp or Path(tempfile.mkdtemp(prefix="eisna-campaign-"))
    tmp.mkdir(parents=True, exist_ok=True)
    print(f"work folder {tmp}; {args.workers} workers × 1 thread; {os.cpu_count()} CPUs", flush=True)
    print(
        f"{'mode':>5} {'cells':>6} {'spectra':>8} {'wall s':>8} {'ms/spectrum':>12} "
        f"{'parent MB':>10} {'worker MB':>10} {'busy %':>7} {'load':>5}  cells/worker",
        flush=True,
    )
    try:
        for n in args.cells:
            for mode in args.modes:
                r = bench(mode, n, tmp, args.workers)
                print(
                    f"{mode:>5} {n:6d} {r['spectra']:8d} {r['wall_s']:8.1f} {r['ms_per_spectrum']:12.1f} "
                    f"{r['parent_mb']:10.0f} {r['child_mb']:10.0f} {100 * r['busy']:7.0f} {r['load']:5.1f}  "
                    f"{r['per_worker']}",
                    flush=True,
                )
        if args.kill_cells:
            print(json.dumps(kill_and_resume(args.kill_cells, tmp, args.workers), indent=1), flush=True)
    finally:
        if args.tmp is None:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
