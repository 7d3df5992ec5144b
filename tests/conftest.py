"""Shared test configuration: hypothesis profiles and small helpers."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# "ci" keeps the whole suite within a few minutes on a 2-core machine; "thorough"
# is for hunting bugs locally: HYPOTHESIS_PROFILE=thorough pytest
settings.register_profile(
    "ci", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("thorough", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261122)


@pytest.fixture(scope="module")
def client():
    """A LocalCluster with two worker processes of one thread, and its Client, for
    the Dask tests of one module (closed after it, so that no other test's Dask
    work goes to it)."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as c:
        yield c
