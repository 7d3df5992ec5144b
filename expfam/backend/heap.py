"""Reuse freed memory inside a pass's task on a Dask worker.

Dask's nanny starts every worker process with ``MALLOC_TRIM_THRESHOLD_`` set
(65,536 by default, so that freed memory goes back to the system promptly).
Setting any of glibc's ``MALLOC_*_`` tunables switches off glibc's *dynamic*
mmap threshold, which otherwise rises to the size of the blocks a program
allocates and frees.  In such a process every allocation above 128 KiB — each
temporary of a block kernel (X scaled by √w, η, μ, …) — is a fresh ``mmap``,
paid for with a page fault per 4 KiB when first written, and unmapped again
when freed.  Measured on a 125,000 × 50 partition: a float64 Newton pass took
15,000 page faults and 2–3 times as long as the same kernels in a process
without the variable (and exactly as long in that process once the variable
was set).

:func:`heap_reuse` raises the mmap threshold (to glibc's own dynamic maximum,
32 MiB) and the trim threshold for the duration of a task, so the blocks'
temporaries are carved from the heap and reused block after block; on leaving,
it restores the process's settings and returns the freed memory to the system
(``malloc_trim``), as Dask intended.  In a process started without those
variables (the client, the threads scheduler), or without glibc, it does
nothing: glibc's dynamic threshold already does this there.
"""

from __future__ import annotations

import ctypes
import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["heap_reuse", "heap_reuse_active"]

# mallopt parameters (glibc's malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: glibc's mmap and trim thresholds when a tunable has fixed them at their defaults.
_GLIBC_DEFAULT = 128 * 1024
#: The largest mmap threshold glibc accepts on 64-bit systems (its dynamic maximum).
_REUSE_MMAP = 32 * 1024 * 1024
#: Keep up to this much freed memory at the top of the heap while a task runs.
_REUSE_TRIM = 1024 * 1024 * 1024
#: The tunables whose presence fixes glibc's mmap threshold.
_FIXING = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_",
           "MALLOC_MMAP_MAX_")

_lock = threading.Lock()
_depth = 0


@functools.cache
def _startup_environment() -> dict[str, str]:
    """The environment this process was started with (glibc read its tunables
    then; ``os.environ`` may have changed since, e.g. by a ``LocalCluster``)."""
    try:
        with open("/proc/self/environ", "rb") as f:
            raw = f.read()
    except OSError:
        return {}
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, v in pairs}


@functools.cache
def _glibc() -> Any:
    """glibc, if this process's C library is glibc and its mmap threshold is fixed;
    else None."""
    env = _startup_environment()
    if not any(name in env for name in _FIXING):
        return None
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018 - only glibc has it
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
    except (OSError, AttributeError):
        return None
    return libc


def _startup_value(name: str) -> int:
    try:
        return int(_startup_environment().get(name, _GLIBC_DEFAULT))
    except ValueError:
        return _GLIBC_DEFAULT


def heap_reuse_active() -> bool:
    """Whether :func:`heap_reuse` changes anything in this process."""
    return _glibc() is not None


@contextmanager
def heap_reuse() -> Iterator[None]:
    """Let the enclosed code reuse freed memory (see the module notes).

    Process-wide, so nested and concurrent uses share one setting, restored
    (and the freed memory trimmed) when the last of them exits.
    """
    global _depth
    libc = _glibc()
    if libc is None:
        yield
        return
    with _lock:
        if _depth == 0:
            libc.mallopt(_M_MMAP_THRESHOLD, _REUSE_MMAP)
            libc.mallopt(_M_TRIM_THRESHOLD, _REUSE_TRIM)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                libc.mallopt(_M_TRIM_THRESHOLD, _startup_value("MALLOC_TRIM_THRESHOLD_"))
                libc.mallopt(_M_MMAP_THRESHOLD, _startup_value("MALLOC_MMAP_THRESHOLD_"))
                libc.malloc_trim(0)
