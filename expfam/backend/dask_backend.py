"""Sums over Dask partitions: a partition is a block.

:class:`DaskBackend` is the Dask counterpart of :class:`~expfam.backend.blocks.
ThreadedBackend`: it maps a function over the partitions and tree-sums the
small summaries it returns (anything with ``+``), on whatever scheduler Dask is
using — the threads or processes scheduler, or a ``distributed`` client
(``LocalCluster`` or a real cluster's address).  Each call is one *pass* over
the data; the rows stay on the workers and only the summaries reach the client.

Partitions are lazy objects (``dask.delayed``) that build a partition's arrays
from the source (Parquet, a Dask array); :meth:`DaskBackend.persist` keeps the
built partitions in the workers' memory, so later passes skip the reading.
"""

from __future__ import annotations

import functools
import operator
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from expfam.backend.blocks import blas_single_threaded
from expfam.backend.dask_workers import WorkerParts
from expfam.backend.heap import heap_reuse
from expfam.backend.progress import Progress
from expfam.errors import ExpfamError

__all__ = ["ClusterError", "DaskBackend", "cluster_memory"]

S = TypeVar("S")

#: Summaries added per task of the tree sum.
SPLIT_EVERY = 8


class ClusterError(ExpfamError, RuntimeError):
    """A pass over the data failed on the cluster (a worker died, a task failed).

    Attributes
    ----------
    pass_number : int
        The pass that failed (1 is the first).
    what : str
        What the pass computes.
    partial : object
        What the fit had computed before the failure (set by the solver): the
        last coefficients and the history, so nothing already computed is lost.
    """

    def __init__(self, message: str, pass_number: int, what: str) -> None:
        super().__init__(message)
        self.pass_number = pass_number
        self.what = what
        self.partial: Any = None


def _add_all(*summaries: Any) -> Any:
    return functools.reduce(operator.add, summaries)


def _on_part(fn: Callable[..., S], part: Any, *args: Any) -> S:
    """``fn(part, *args)`` on the worker, its block temporaries reusing the heap
    (see :mod:`expfam.backend.heap`: Dask's workers would map each afresh)."""
    with heap_reuse():
        return fn(part, *args)


class DaskBackend:
    """Runs passes over lazy partitions.

    Parameters
    ----------
    parts : sequence of dask.delayed.Delayed
        One per partition; each computes to the object the pass functions take.
    """

    def __init__(self, parts: Sequence[Any]) -> None:
        if not parts:
            raise ExpfamError("no partitions to sum over")
        self.parts = list(parts)
        #: Passes over the data so far.
        self.n_passes = 0
        #: One entry per pass: what it computed.
        self.passes: list[str] = []
        #: One entry per pass: its wall-clock seconds.
        self.seconds: list[float] = []
        self.persisted = False
        #: Where the persisted partitions live, on a distributed cluster (also for
        #: partitions persisted before, such as a results object's).
        self._workers: WorkerParts | None = WorkerParts.of(self.parts)
        #: Told of every pass (quiet unless a fit's ``progress=`` asks).
        self.progress: Progress = Progress("dask")

    def map_sum(self, fn: Callable[..., S], *args: Any, what: str = "pass",
                parts: Sequence[Any] | None = None) -> S:
        """``fn(part_1, *args) + fn(part_2, *args) + …``: one pass, tree-summed.

        ``parts`` maps over other partitions than the backend's own (lazy
        transforms of them, such as a model's intercept-only design).
        """
        from dask import delayed
        from dask.base import tokenize

        name = getattr(fn, "__name__", "pass")  # the dashboard's name for the tasks
        if self._workers is not None and (parts is None or parts is self.parts):
            # Persisted on a distributed cluster: a few tasks per worker, no graph.
            workers = self._workers
            return self._run(lambda: workers.map_sum(fn, args, name), what)
        tasks = [delayed(_on_part, pure=True)(fn, part, *args,
                                              dask_key_name=f"{name}-{tokenize(fn, part, *args)}")
                 for part in (self.parts if parts is None else parts)]
        while len(tasks) > 1:
            tasks = [delayed(_add_all, pure=True)(*tasks[i:i + SPLIT_EVERY])
                     for i in range(0, len(tasks), SPLIT_EVERY)]
        return self.compute(tasks[0], what)

    def compute(self, task: Any, what: str) -> Any:
        """Compute one lazy result as a counted pass; failures name the pass."""
        import dask

        return self._run(lambda: dask.compute(task)[0], what)

    def _run(self, run: Callable[[], S], what: str) -> S:
        """``run()`` as a counted pass; failures name the pass."""
        self.n_passes += 1
        self.passes.append(what)
        start = time.perf_counter()
        try:
            # Under the threads scheduler the kernels run in this process, where
            # BLAS threads would fight Dask's threads for the cores.
            with blas_single_threaded():
                result = run()
        except ExpfamError:
            raise  # bad data found on a worker: the message already says where
        except Exception as err:
            raise ClusterError(f"pass {self.n_passes} over the data ({what}) failed on the "
                               f"cluster: {type(err).__name__}: {err}", self.n_passes,
                               what) from err
        self.seconds.append(time.perf_counter() - start)
        self.progress.update(**{"pass": self.n_passes, "computed": what,
                                "seconds": self.seconds[-1]})
        return result

    def persist(self) -> None:
        """Keep the built partitions in the workers' memory for later passes."""
        import dask

        self.parts = list(dask.persist(*self.parts))
        self.persisted = True
        # On a distributed cluster, passes then run as a few tasks per worker.
        self._workers = WorkerParts.of(self.parts)


def cluster_memory() -> float:
    """Bytes of memory available to the current Dask scheduler's workers: the
    sum of the workers' limits on a distributed cluster, else this machine's
    available memory."""
    try:
        from distributed import get_client

        client = get_client()
        workers = client.scheduler_info()["workers"].values()
        limits = [float(w.get("memory_limit") or 0) for w in workers]
        if limits and all(limits):
            return float(sum(limits))
    except (ImportError, ValueError):
        pass
    import psutil

    return float(psutil.virtual_memory().available)
