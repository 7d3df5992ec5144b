"""What keeps a Dask pass fast (issue 13): the workers' heap, and one task per worker.

- Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_`` set, which fixes
  glibc's mmap threshold at 128 KiB: every block temporary would be mapped
  afresh.  :func:`expfam.backend.heap.heap_reuse` lets a pass's task reuse the
  heap and restores the setting afterwards.
- Passes over persisted partitions run as one task per worker thread
  (:class:`expfam.backend.dask_workers.WorkerParts`); the sums are the same
  as the general path's, and the fit the same as in memory.
"""

from __future__ import annotations

import ctypes
import sys

import numpy as np
import pytest

import expfam as ef
from expfam.backend.dask_backend import DaskBackend

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

from test_dask import RTOL, TOL, assert_same  # noqa: E402


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def _mapped(reuse: bool) -> dict[str, object]:
    """Bytes glibc holds in separately mapped chunks while a block's temporary — an
    8,192 × 50 float64 array — is alive, in a worker (mallinfo2's ``hblkhd``)."""
    from expfam.backend.heap import heap_reuse, heap_reuse_active

    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = _MallInfo2

    def run() -> int:
        before = libc.mallinfo2().hblkhd
        block = np.ones((8192, 50))
        during = libc.mallinfo2().hblkhd
        del block
        return int(during - before)

    if reuse:
        with heap_reuse():
            mapped = run()
    else:
        mapped = run()
    return {"mapped": mapped, "active": heap_reuse_active()}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
@pytest.mark.usefixtures("client")  # the LocalCluster of test_dask
def test_workers_reuse_the_heap_inside_a_pass() -> None:
    cluster = distributed.get_client()
    plain = cluster.submit(_mapped, False, pure=False).result()
    if not plain["active"]:
        pytest.skip("the workers' C library is not glibc, or no MALLOC_*_ variable is set")
    size = 8192 * 50 * 8
    assert plain["mapped"] >= size  # mapped afresh (and unmapped when freed)
    assert cluster.submit(_mapped, True, pure=False).result()["mapped"] == 0  # the heap
    # The worker's own setting is back after the pass.
    assert cluster.submit(_mapped, False, pure=False).result()["mapped"] >= size


def _rows(part: np.ndarray) -> np.ndarray:
    return np.array([part.shape[0], part.sum()])


@pytest.mark.usefixtures("client")  # the LocalCluster of test_dask
def test_passes_over_persisted_parts_run_per_worker() -> None:
    cluster = distributed.get_client()
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1000, 3))
    blocks = list(da.from_array(x, chunks=(90, 3)).to_delayed().ravel())
    backend = DaskBackend(blocks)
    general = backend.map_sum(_rows, what="rows")
    backend.persist()
    assert backend._workers is not None
    per_worker = backend.map_sum(_rows, what="rows")
    assert per_worker[0] == general[0] == 1000
    np.testing.assert_allclose(per_worker[1], x.sum(), rtol=1e-12)
    np.testing.assert_allclose(per_worker[1], general[1], rtol=1e-12)
    # At most one task per worker thread.
    assert len(backend._workers.groups()) <= sum(cluster.nthreads().values())
    assert backend.n_passes == 2


def test_threads_scheduler_keeps_the_general_path() -> None:
    blocks = [dask.delayed(np.arange)(i, i + 3) for i in range(4)]
    backend = DaskBackend(blocks)
    with dask.config.set(scheduler="threads"):
        backend.persist()
        assert backend._workers is None
        assert backend.map_sum(np.sum, what="sums") == sum(3 * i + 3 for i in range(4))


@pytest.mark.usefixtures("client")  # the LocalCluster of test_dask
def test_a_persisted_fit_on_workers_equals_in_memory() -> None:
    rng = np.random.default_rng(8)
    n = 6000
    x = np.column_stack([np.ones(n), rng.standard_normal((n, 3))])
    y = (rng.random(n) < 1 / (1 + np.exp(-x @ [0.2, 1.0, -0.5, 0.3]))).astype(float)
    res = ef.GLM(da.from_array(y, chunks=700), da.from_array(x, chunks=(700, 4))).fit(
        tol=TOL, persist=True)
    assert_same(res, ef.GLM(y, x).fit(tol=TOL), RTOL)


def test_a_sample_of_an_unaligned_design_is_drawn_by_whole_rows() -> None:
    from expfam.design.dask_frame import RawPart
    from expfam.engine.dask_problem import stats_part, to_part
    from expfam.families import Bernoulli

    rng = np.random.default_rng(2)
    x = rng.standard_normal((500, 4))
    # As an array that arrived inside a message: at an odd byte offset.
    raw = bytearray(x.nbytes + 1)
    unaligned = np.frombuffer(raw, dtype=np.float64, count=x.size, offset=1).reshape(x.shape)
    unaligned[...] = x
    assert not unaligned.flags.aligned
    y = (rng.random(500) < 0.5).astype(float)
    off = rng.standard_normal(500)
    parts = [to_part(RawPart(0, exog, y, None, off, None, None, 0), Bernoulli(), None, 4)
             for exog in (unaligned, x)]
    assert parts[0].problem.exog is unaligned  # kept as it is: no copy
    drawn, reference = (stats_part(p, 100).sample[0] for p in parts)
    assert drawn.exog.flags.aligned
    for name in ("exog", "target", "weights", "offset"):
        np.testing.assert_array_equal(getattr(drawn, name), getattr(reference, name))


@pytest.mark.usefixtures("client")  # the LocalCluster of test_dask
def test_a_partition_that_fails_to_build_is_named_on_the_per_worker_path() -> None:
    from expfam.errors import InputError

    rng = np.random.default_rng(4)
    x = np.column_stack([np.ones(4000), rng.standard_normal(4000)])
    y = (rng.random(4000) < 0.5).astype(float)
    y[3100] = 2.0
    with pytest.raises(InputError, match="partition 3: response is not 0 or 1 at row 100"):
        ef.GLM(da.from_array(y, chunks=1000), da.from_array(x, chunks=(1000, 2))).fit(
            persist=True)
