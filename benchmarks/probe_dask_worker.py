#!/usr/bin/env python3
"""What grows in a Dask worker that fits one campaign cell after another.

Usage::

    python benchmarks/probe_dask_worker.py --cells 40 --every 10

Starts ``dask scheduler`` and one ``dask worker --nthreads 1`` (with its nanny) on localhost
per mode, submits ``--cells`` copies of the cell of ``sample_spectra/nas_looped.mpt`` (49
spectra) two at a time, and after every ``--every`` cells asks the worker (``client.run``) for
its current RSS, its CPU time (all threads), the number of objects tracked by the garbage
collector, and its profiler's history ("profile": seconds held; "MB": pickled size of
``profile_history`` and ``profile_keys_history``).
Modes:

- ``eisna``: the tasks as ``eisna batch --scheduler`` submits them (``CellExecutor``: the fit
  runs in a thread of its own, unseen by the worker's profiler);
- ``direct``: ``fit_cell`` itself is the task (as before that), the worker's profiler on;
- ``direct-noprofile``: the same with the profiler off
  (``DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False`` in the worker's environment).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from concurrent.futures import FIRST_COMPLETED, wait
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_campaign as bc  # its cluster helpers (this folder is not a package)

MODES = ("eisna", "direct", "direct-noprofile")


def worker_state(dask_worker) -> dict:
    """Runs on the worker: current RSS, GC objects, profiler history."""
    import gc
    import pickle
    import time

    rss = 0.0
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
    history = [*dask_worker.profile_history, *dask_worker.profile_keys_history]
    return {
        "rss_mb": rss,
        "cpu_s": time.process_time(),
        "gc_objects": len(gc.get_objects()),
        "profile_entries": len(dask_worker.profile_history),
        "profile_mb": len(pickle.dumps(history)) / 1e6,
    }


def probe(mode: str, n_cells: int, every: int) -> list[tuple[int, float, dict]]:
    from dask.distributed import Client
    from dask.distributed import wait as dask_wait

    from eisna._campaign_cell import CellJob, fit_cell
    from eisna._cluster import CellExecutor
    from eisna.batching import DEFAULT_EPS_R, _read_all

    spectra, _groups, _bad, _skip, inputs = _read_all([bc.SOURCE], None)
    fields = {
        "circuit": "symmetric_interlayer",
        "chunk_size": 50,
        "geometry": None,
        "eps_r": DEFAULT_EPS_R,
        "report": False,
        "track": None,
    }
    env = bc._env()
    if mode == "direct-noprofile":
        env["DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED"] = "False"
    port = bc._free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    procs = [
        subprocess.Popen(
            [*bc.DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), *bc.SCHEDULER_OPTS], **quiet
        ),
        subprocess.Popen([*bc.DASK, "worker", address, *bc.WORKER_OPTS], **quiet),
    ]
    rows = []
    try:
        client = Client(address, timeout="30s")
        client.wait_for_workers(1, timeout=90)
        executor = CellExecutor(client)

        def submit(i: int) -> Any:
            job = CellJob(f"cell{i}", tuple(spectra), (), tuple(inputs), **fields)
            if mode == "eisna":
                return executor.submit(fit_cell, job)
            return client.submit(fit_cell, client.scatter(job, hash=False), pure=False)

        t0 = time.perf_counter()
        inflight: set[Any] = set()
        submitted = done = 0
        while done < n_cells:
            while len(inflight) < 2 and submitted < n_cells:
                inflight.add(submit(submitted))
                submitted += 1
            if mode == "eisna":
                finished, inflight = wait(inflight, return_when=FIRST_COMPLETED)
            else:  # Dask futures
                finished, inflight = dask_wait(inflight, return_when="FIRST_COMPLETED")
            for fut in finished:
                fut.result()
                done += 1
                if done % every == 0:
                    state = next(iter(client.run(worker_state).values()))
                    rows.append((done, time.perf_counter() - t0, state))
        client.close()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=20)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", type=int, default=40)
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    args = parser.parse_args(argv)
    head = f"{'cells':>5} {'wall s':>7} {'CPU s':>6} {'RSS MB':>7} {'GC objs':>8} {'profile':>7} {'MB':>5}"
    print(f"{'mode':>16} {head}")
    for mode in args.modes:
        for done, wall, s in probe(mode, args.cells, args.every):
            print(
                f"{mode:>16} {done:5d} {wall:7.0f} {s['cpu_s']:6.1f} {s['rss_mb']:7.1f} {s['gc_objects']:8d} "
                f"{s['profile_entries']:7d} {s['profile_mb']:5.2f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
