"""Connecting a campaign to a Dask scheduler: reachability, workers, eisna on the workers.

Every problem is a :class:`~eisna.errors.SchedulerError` that names the address and what to do.
``dask[distributed]`` is imported only here, and only when a scheduler address is given.
"""

from __future__ import annotations

import threading
from concurrent.futures import Executor, Future
from typing import Any

from .errors import SchedulerError

__all__ = ["CellExecutor", "connect", "is_lost", "run_unsampled", "worker_slots"]

CONNECT_TIMEOUT_S = 10.0
WORKER_WAIT_S = 60.0
_START = "start one with `dask scheduler` on that host and `dask worker {addr}` on each machine that fits"


def connect(address: str, *, connect_timeout_s: float | None = None, worker_wait_s: float | None = None):
    """A ``dask.distributed.Client`` for ``address``, checked: reachable, with workers, same eisna.

    Parameters
    ----------
    address : str
        Scheduler address, e.g. ``tcp://10.0.0.5:8786``.
    connect_timeout_s : float, optional
        Seconds to wait for the scheduler to answer (default :data:`CONNECT_TIMEOUT_S`).
    worker_wait_s : float, optional
        Seconds to wait for the first worker to join (default :data:`WORKER_WAIT_S`).

    Raises
    ------
    SchedulerError
        dask.distributed is missing, the scheduler does not answer, no worker joins, or a worker
        cannot import eisna (or has another version of it).
    """
    try:
        from dask.distributed import Client
    except ImportError as err:
        raise SchedulerError(
            f"--scheduler {address}: dask.distributed is not installed here; install it with "
            "pip install 'eisna[dask]' (on this machine and on every worker)."
        ) from err
    connect_timeout_s = CONNECT_TIMEOUT_S if connect_timeout_s is None else connect_timeout_s
    worker_wait_s = WORKER_WAIT_S if worker_wait_s is None else worker_wait_s
    try:
        client = Client(address, timeout=f"{connect_timeout_s}s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as err:
        raise SchedulerError(
            f"cannot reach the Dask scheduler at {address} ({err}); check the address and port, "
            f"or {_START.format(addr=address)}; without --scheduler the batch runs on local processes."
        ) from err
    try:
        _wait_for_workers(client, address, worker_wait_s)
        _check_eisna_on_workers(client, address)
    except BaseException:
        client.close()
        raise
    return client


def _wait_for_workers(client: Any, address: str, wait_s: float) -> None:
    try:
        client.wait_for_workers(1, timeout=wait_s)
    except (TimeoutError, OSError) as err:
        raise SchedulerError(
            f"the Dask scheduler at {address} has no workers after {wait_s:.0f} s; start them with "
            f"`dask worker {address} --nthreads 1` on each machine that fits (eisna installed there)."
        ) from err


def _check_eisna_on_workers(client: Any, address: str) -> None:
    """Every worker imports the same eisna as this process (pickled tasks name its functions)."""
    from . import __version__

    versions = client.get_versions(check=False, packages=["eisna"]).get("workers", {})
    wrong = {
        worker: (info.get("packages") or {}).get("eisna")
        for worker, info in versions.items()
        if (info.get("packages") or {}).get("eisna") != __version__
    }
    if wrong:
        shown = ", ".join(f"{w} ({v or 'no eisna'})" for w, v in sorted(wrong.items())[:3])
        raise SchedulerError(
            f"Dask workers of {address} cannot run eisna {__version__}: {shown}; install the same "
            f"version on every worker (pip install 'eisna[dask]=={__version__}') and restart them."
        )


def worker_slots(client: Any) -> int:
    """Threads over all workers of the cluster (at least 1): how many cells run at once."""
    return max(sum(int(n) for n in client.nthreads().values()), 1)


def is_lost(client: Any) -> bool:
    """True when the client has lost its scheduler (it is reconnecting or closed)."""
    return getattr(client, "status", "running") != "running"


def run_unsampled(fn: Any, /, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` in a thread of its own, out of sight of the Dask worker's profiler.

    A Dask worker samples the stack of every thread that runs a task each 10 ms and keeps a
    call tree per second for the last 1000 s, twice (``profile_history`` and
    ``profile_keys_history``). A cell's fit has deep, varied NumPy/SciPy stacks: their trees
    grew a worker by about 0.4 MB per second of fitting, 0.5 MB per cell (BENCHMARKS.md,
    "Campaign on Dask"). Run here, the task's own thread only waits, and the profiler records
    that one short stack; the fit itself is the same.

    Returns
    -------
    Any
        What ``fn`` returns; what it raises is raised here.
    """
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["result"] = fn(*args, **kwargs)
        except BaseException as err:  # handed back to the task's thread, which raises it
            outcome["error"] = err

    thread = threading.Thread(target=target, name=f"eisna-{getattr(fn, '__name__', 'task')}", daemon=True)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome.pop("error")
    return outcome["result"]


class CellExecutor(Executor):
    """A ``concurrent.futures`` view of a Dask client that forgets each task once it is done.

    ``Client.get_executor()`` keeps every submitted task (its pickled spectra) reachable in the
    submitting process; here the Dask future is released as soon as its outcome is handed to
    the ``concurrent.futures.Future``, so memory does not grow with the number of cells. On the
    worker the task runs through :func:`run_unsampled`, so the worker's profiler does not grow
    with the number of cells either.
    """

    def __init__(self, client: Any) -> None:
        self.client = client

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future:
        outcome: Future = Future()
        # the arguments travel as scattered data, not inside the task: a task's arguments stay
        # in the client's memory until it disconnects, scattered data goes when it is released
        data = self.client.scatter(list(args), hash=False) if args else []
        task = self.client.submit(run_unsampled, fn, *data, pure=False, key=_key(fn), **kwargs)

        def hand_over(done: Any) -> None:
            try:
                if done.status == "finished":
                    outcome.set_result(done.result())
                elif done.status == "cancelled":
                    outcome.cancel()
                    outcome.set_running_or_notify_cancel()
                else:
                    outcome.set_exception(done.exception())
            except BaseException as err:  # the scheduler went away while fetching the result
                if not outcome.done():
                    outcome.set_exception(err)
            finally:
                done.release()
                for item in data:
                    item.release()

        task.add_done_callback(hand_over)
        return outcome

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Nothing to stop: the cluster belongs to its owner (the client is closed by the caller)."""


def _key(fn: Any) -> str:
    """A task key named after ``fn`` (the dashboard and logs show ``fit_cell-…``, not the wrapper)."""
    import uuid

    return f"{getattr(fn, '__name__', 'task')}-{uuid.uuid4().hex}"
