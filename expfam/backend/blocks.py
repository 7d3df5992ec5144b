"""Sums over row blocks: the one mechanism every solver step runs on.

A solver step is a pure function of one block of rows returning a small
summary that supports ``+`` (see :class:`NewtonSums`).  A backend maps that
function over the blocks and adds the summaries.  The in-memory backend here
uses a thread pool (NumPy and BLAS release the GIL) with BLAS itself held to
one thread, so two cores work on two blocks instead of fighting over one; a
Dask backend would map the same function over chunks and tree-sum.

Summation always follows block order, so results do not depend on thread timing.
"""

from __future__ import annotations

import functools
import operator
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import numpy as np

from expfam._typing import FloatArray

__all__ = [
    "BLOCK_ROWS",
    "Backend",
    "NewtonSums",
    "ThreadedBackend",
    "blas_single_threaded",
    "default_backend",
    "preferred_block_rows",
    "row_slices",
]

#: Rows per block: large enough for BLAS to run near full speed, small enough
#: that a block and its temporaries stay in cache (8192 × 50 float64 ≈ 3 MB).
BLOCK_ROWS = 8192

S = TypeVar("S")


def row_slices(n_rows: int, block_rows: int = BLOCK_ROWS) -> list[slice]:
    """Consecutive row slices of at most ``block_rows`` rows covering ``range(n_rows)``."""
    return [slice(i, min(i + block_rows, n_rows)) for i in range(0, n_rows, block_rows)]


@dataclass(frozen=True)
class NewtonSums:
    """Loss, gradient and (optionally) Hessian of Σ w·(A(η) − t·η) over some rows.

    ``gradient`` has shape ``(k,)`` and ``hessian`` ``(k, k)`` with k = p·m
    (coefficients flattened class by class); ``loss`` is None for passes that
    only need the gradient.  ``boundary`` counts rows (of positive weight) whose
    fitted mean is numerically on the boundary of its range — a probability of
    0 or 1, a Poisson mean of 0 — where the variance underflows.  Summaries add.
    """

    loss: float | None
    gradient: FloatArray
    #: (k, k) array, or a structured matrix with ``+`` and ``finite`` (an arrow
    #: with a factor's diagonal block: see expfam.design.gram).
    hessian: Any = None
    boundary: int = 0

    def __add__(self, other: NewtonSums) -> NewtonSums:
        loss = None if self.loss is None or other.loss is None else self.loss + other.loss
        hess = None
        if self.hessian is not None and other.hessian is not None:
            hess = self.hessian + other.hessian
        return NewtonSums(loss, self.gradient + other.gradient, hess,
                          self.boundary + other.boundary)

    @property
    def finite(self) -> bool:
        """Whether every number in the summary is finite."""
        ok = (self.loss is None or bool(np.isfinite(self.loss))) and bool(
            np.all(np.isfinite(self.gradient)))
        if self.hessian is None or not ok:
            return ok
        finite = getattr(self.hessian, "finite", None)
        return bool(finite) if finite is not None else bool(np.all(np.isfinite(self.hessian)))


class Backend(Protocol):
    """Maps a block function over row blocks and adds the results."""

    def map_sum(self, fn: Callable[[slice], S], n_rows: int) -> S:
        """Return ``fn(rows_1) + fn(rows_2) + …`` over the blocks of ``range(n_rows)``."""
        ...


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def _pool(n_threads: int) -> ThreadPoolExecutor:
    # Keyed by process: a pool inherited through fork has no live threads.
    return _pool_of(n_threads, os.getpid())


@functools.cache
def _pool_of(n_threads: int, pid: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=n_threads, thread_name_prefix="expfam")


@functools.cache
def _threadpool_controller() -> Any:
    # Finding the loaded BLAS libraries takes milliseconds: do it once.
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


_limit_lock = threading.Lock()
_limit_depth = 0
_limiter: Any = None


@contextmanager
def blas_single_threaded() -> Iterator[None]:
    """Hold BLAS to one thread inside the block.

    Workers each run BLAS on their own block, so BLAS threads on top would
    oversubscribe the cores; and idle BLAS threads spin for a while after each
    call, stealing a core from the next pass.  Small matrices gain nothing from
    BLAS threads either.  The limit is process-wide, so nested and concurrent
    uses share one limit, lifted when the last of them exits.
    """
    global _limit_depth, _limiter
    with _limit_lock:
        if _limit_depth == 0:
            _limiter = _threadpool_controller().limit(limits=1, user_api="blas")
        _limit_depth += 1
    try:
        yield
    finally:
        with _limit_lock:
            _limit_depth -= 1
            if _limit_depth == 0:
                _limiter.restore_original_limits()
                _limiter = None


#: Rows per block requested by the data (None: the backend's own); see
#: :func:`preferred_block_rows`.
_BLOCK_ROWS: ContextVar[int | None] = ContextVar("expfam_block_rows", default=None)


@contextmanager
def preferred_block_rows(rows: int | None) -> Iterator[None]:
    """Run the enclosed passes with blocks of ``rows`` rows (None: unchanged).

    A design whose per-block summary is expensive whatever the block's height
    — a wide sparse matrix, whose XᵀWX is p × p from any number of rows — asks
    for fewer, taller blocks; the sums are the same.
    """
    token = _BLOCK_ROWS.set(rows)
    try:
        yield
    finally:
        _BLOCK_ROWS.reset(token)


class ThreadedBackend:
    """In-memory backend: blocks of rows on a thread pool.

    Parameters
    ----------
    n_threads : int, optional
        Worker threads; defaults to the CPUs available to this process.
    block_rows : int
        Rows per block.
    """

    def __init__(self, n_threads: int | None = None, block_rows: int = BLOCK_ROWS) -> None:
        self.n_threads = max(1, n_threads or _cpu_count())
        self.block_rows = block_rows

    def map_sum(self, fn: Callable[[slice], S], n_rows: int) -> S:
        slices = row_slices(n_rows, _BLOCK_ROWS.get() or self.block_rows)
        if not slices:
            raise ValueError("no rows to sum over")
        threads = min(self.n_threads, len(slices))
        if threads == 1:
            return _sum_blocks(fn, slices)
        # One task per thread, each summing every threads-th block: few hand-offs,
        # and a fixed summation order for a given thread count.
        groups = [slices[i::threads] for i in range(threads)]
        with blas_single_threaded():
            partial = list(_pool(threads).map(lambda g: _sum_blocks(fn, g), groups))
        return functools.reduce(operator.add, partial)


def _sum_blocks(fn: Callable[[slice], S], slices: list[slice]) -> S:
    return functools.reduce(operator.add, (fn(s) for s in slices))


_DEFAULT = ThreadedBackend()


def default_backend() -> ThreadedBackend:
    """The process-wide in-memory backend."""
    return _DEFAULT
