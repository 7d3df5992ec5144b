"""Robust and cluster covariances on Dask when the information is an arrow (a
factor with many levels; expfam/inference/dask_robust_arrow.py): the sandwich's
pieces are summed over the partitions in the statistics pass, never as a p × p
matrix, and every number equals the in-memory fit's to 1e-8 relative.  The
in-memory arrow sandwich is itself checked against the dense sandwich and R in
tests/test_robust_arrow.py; here the Dask fit is also checked against
statsmodels directly (HC0 and clusters, dummy columns)."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import expfam as ef
from expfam.design.gram import ArrowGram
from expfam.errors import DataWarning, InputError
from expfam.inference import cov_blocks, dask_robust

dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")
pytest.importorskip("distributed")

from test_dask import RTOL, TOL, assert_same  # noqa: E402

ROBUST = ["HC0", "HC1", "HC2", "HC3", "cluster"]
FORMULA = "y ~ x + z + C(g) + C(s)"


def _frame(seed: int, n: int, levels: int) -> pd.DataFrame:
    """Counts with a 3-level factor g, a ``levels``-level factor s (a positive count
    at every level: none separated), frequency weights, an offset, and cluster
    labels (strings) that cut across levels and partitions."""
    rng = np.random.default_rng(seed)
    codes = np.concatenate([np.arange(levels), rng.integers(0, levels, n - levels)])
    df = pd.DataFrame({"x": rng.standard_normal(n), "z": rng.uniform(-1, 1, n),
                       "g": rng.choice(["a", "b", "c"], n),
                       "w": rng.integers(1, 4, n).astype(float),
                       "off": rng.normal(0, 0.2, n),
                       "cl": [f"c{i}" for i in rng.integers(0, 45, n)],
                       "s": pd.Categorical.from_codes(
                           codes, [f"s{i:03d}" for i in range(levels)])})
    eta = 0.2 + 0.3 * df.x - 0.4 * df.z + 0.3 * (df.g == "b") + df.off + rng.normal(
        0, 0.3, levels)[codes]
    df["y"] = rng.poisson(np.exp(eta)).astype(float)
    df.loc[np.arange(levels), "y"] += 1.0
    return df


@pytest.fixture(scope="module")
def counts() -> pd.DataFrame:
    return _frame(13, 3000, 100)


def _fits(df: pd.DataFrame, cov_type: str, npartitions: int = 3, **options: object):
    """The in-memory fit and the Dask fit (on the current scheduler) of ``FORMULA``."""
    groups = {"groups": df["cl"]} if cov_type == "cluster" else {}
    mem = ef.glm(FORMULA, df, family="poisson", weights="w", offset="off").fit(
        tol=TOL, cov_type=cov_type, **groups, **options)
    ddf = dd.from_pandas(df, npartitions=npartitions)
    res = ef.glm(FORMULA, ddf, family="poisson", weights="w", offset="off").fit(
        tol=TOL, cov_type=cov_type, **({"groups": "cl"} if groups else {}), **options)
    return mem, res


def _same_blocks(res, mem) -> None:
    """bse, a cov_params(columns=) block, intervals and prediction SEs agree."""
    np.testing.assert_allclose(res.bse, mem.bse, rtol=RTOL)
    block = res.cov_params(columns="C(s)[T.s00")
    assert block.shape == (9, 9)
    np.testing.assert_allclose(block.to_numpy(),
                               mem.cov_params(columns="C(s)[T.s00").to_numpy(), rtol=RTOL)
    pair = ["x", "C(s)[T.s042]", "C(g)[T.c]"]
    np.testing.assert_allclose(res.cov_params(columns=pair).to_numpy(),
                               mem.cov_params(columns=pair).to_numpy(), rtol=RTOL)
    np.testing.assert_allclose(res.conf_int().to_numpy(), mem.conf_int().to_numpy(),
                               rtol=RTOL)


@pytest.mark.parametrize("cov_type", ROBUST)
def test_dask_sandwich_by_pieces_equals_in_memory(counts, cov_type) -> None:
    """HC0–HC3 and clusters, with weights and an offset: the Dask fit holds the
    sandwich by pieces (no k × k meat) and every statistic equals in memory."""
    with dask.config.set(scheduler="sync"):
        mem, res = _fits(counts, cov_type)
    assert isinstance(res.solver.hessian, ArrowGram)
    assert res._robust is None and res._sandwich is not None
    assert mem._sandwich is not None
    assert_same(res, mem)
    _same_blocks(res, mem)
    rows = counts.iloc[:40]
    np.testing.assert_allclose(res.get_prediction(rows).se_mean,
                               mem.get_prediction(rows).se_mean, rtol=RTOL)
    pd.testing.assert_frame_equal(res.summary_frame(), mem.summary_frame(), rtol=RTOL)


@pytest.mark.parametrize("cov_type", ["HC1", "cluster"])
def test_ml_small_sample_convention(counts, cov_type) -> None:
    with dask.config.set(scheduler="sync"):
        mem, res = _fits(counts, cov_type, small_sample="ml")
    assert res._sandwich is not None
    _same_blocks(res, mem)


def test_statsmodels_on_dummy_columns(counts) -> None:
    """The Dask arrow sandwich against statsmodels' GLM on dummy columns, without
    weights (statsmodels' HC0, and its cluster sandwich with the G/(G − 1)·
    (n − 1)/(n − k) correction: small_sample="regress")."""
    sm = pytest.importorskip("statsmodels.api")
    df = counts.drop(columns="w")
    formula = "y ~ x + z + C(g) + C(s)"
    ddf = dd.from_pandas(df, npartitions=3)
    dense = ef.glm(formula, df, family="poisson", offset="off").fit(tol=TOL)
    exog = pd.DataFrame(dense.model.exog.dense(), columns=dense.model.exog_names)
    ref = sm.GLM(df["y"].to_numpy(), exog, family=sm.families.Poisson(),
                 offset=df["off"].to_numpy())
    with dask.config.set(scheduler="sync"):
        for cov_type, kw, own in (("HC0", {}, {}),
                                  ("cluster", {"cov_kwds": {"groups": pd.factorize(
                                      df["cl"])[0]}}, {"groups": "cl"})):
            res = ef.glm(formula, ddf, family="poisson", offset="off").fit(
                tol=TOL, cov_type=cov_type, **own)
            assert res._sandwich is not None
            expected = ref.fit(cov_type=cov_type, tol=1e-12, **kw)
            np.testing.assert_allclose(res.bse.to_numpy(), np.asarray(expected.bse), rtol=1e-6)


@pytest.mark.parametrize("cov_type", ["HC3", "cluster"])
def test_worker_processes(client, counts, cov_type) -> None:
    """On a LocalCluster with worker processes (the factorization and the pieces
    are pickled): the in-memory numbers."""
    mem, res = _fits(counts, cov_type, npartitions=4)
    assert res._sandwich is not None
    assert_same(res, mem)
    _same_blocks(res, mem)


def test_beyond_the_dense_limit_is_no_longer_refused() -> None:
    """5,050 levels (more than MAX_DENSE_COV coefficients): robust and cluster fits
    on Dask, refused before, give the in-memory standard errors, blocks, intervals
    and summary; only the whole matrix is refused, as in memory."""
    assert cov_blocks.MAX_DENSE_COV < 5052
    rng = np.random.default_rng(3)
    n, levels = 25_000, 5050
    codes = np.concatenate([np.arange(levels), rng.integers(0, levels, n - levels)])
    df = pd.DataFrame({"x": rng.standard_normal(n), "w": rng.integers(1, 3, n).astype(float),
                       "cl": rng.integers(0, 300, n),
                       "s": pd.Categorical.from_codes(codes, [f"s{i}" for i in range(levels)])})
    df["y"] = rng.poisson(np.exp(0.5 + 0.3 * df.x + rng.normal(0, 0.3, levels)[codes])) + 0.0
    df.loc[np.arange(levels), "y"] += 1.0
    ddf = dd.from_pandas(df, npartitions=2)
    for cov_type in ("HC1", "cluster"):
        groups = {"groups": df["cl"]} if cov_type == "cluster" else {}
        mem = ef.glm("y ~ x + C(s)", df, family="poisson", weights="w").fit(
            tol=TOL, cov_type=cov_type, **groups)
        with dask.config.set(scheduler="sync"):
            res = ef.glm("y ~ x + C(s)", ddf, family="poisson", weights="w").fit(
                tol=TOL, cov_type=cov_type, **({"groups": "cl"} if groups else {}))
        np.testing.assert_allclose(res.bse, mem.bse, rtol=RTOL)
        np.testing.assert_allclose(res.cov_params(columns="C(s)[T.s10").to_numpy(),
                                   mem.cov_params(columns="C(s)[T.s10").to_numpy(), rtol=RTOL)
        np.testing.assert_allclose(res.conf_int().to_numpy(), mem.conf_int().to_numpy(),
                                   rtol=RTOL)
        assert "C(s)[T.s5049]" in str(res.summary())
        with pytest.raises(InputError, match=r"cov_params\(columns="):
            res.cov_params()


def test_dense_information_beyond_the_limit_is_refused_with_the_reason(monkeypatch) -> None:
    """Below the arrow (here 40 levels, a dense information) the k × k meat path
    stays, and beyond the (lowered) limit its message says why and what to do."""
    df = _frame(5, 800, 40)
    monkeypatch.setattr(dask_robust, "MAX_DENSE_COV", 20)
    with dask.config.set(scheduler="sync"), pytest.raises(
            InputError, match=r"information is dense.*cov_type='nonrobust'"):
        ef.glm(FORMULA, dd.from_pandas(df, npartitions=2), family="poisson").fit(
            cov_type="HC1")


def test_arrow_with_a_low_limit(monkeypatch, counts) -> None:
    """MAX_DENSE_COV lowered below the 105 coefficients (in both places that read
    it): the Dask fit is not refused, and equals in memory by blocks."""
    monkeypatch.setattr(cov_blocks, "MAX_DENSE_COV", 30)
    monkeypatch.setattr(dask_robust, "MAX_DENSE_COV", 30)
    with dask.config.set(scheduler="sync"):
        mem, res = _fits(counts, "HC2")
    with pytest.raises(InputError, match=r"cov_params\(columns="):
        res.cov_params()
    _same_blocks(res, mem)


def test_leverage_one_gives_nan_with_a_warning() -> None:
    """A level with a single row is fitted exactly (leverage 1): HC2 and HC3 are
    undefined, NaN everywhere, with a warning, on Dask as in memory."""
    df = _frame(8, 1500, 80)
    df = pd.concat([df, df.iloc[[0]].assign(s="lone", w=1.0)], ignore_index=True)
    df["s"] = df["s"].astype("category")
    with dask.config.set(scheduler="sync"), warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        mem, _ = _fits(df, "HC3")
        assert np.isnan(mem.bse).all()  # in memory the sandwich (and warning) is lazy
    with dask.config.set(scheduler="sync"), pytest.warns(DataWarning, match="leverage 1"):
        _, res = _fits(df, "HC3")  # on Dask it comes with the fit's last pass
    assert np.isnan(res.bse).all()


@settings(max_examples=6, deadline=None)
@given(cuts=st.lists(st.integers(1, 499), max_size=3, unique=True),
       cov_type=st.sampled_from(ROBUST), n_clusters=st.integers(2, 30),
       slopes=st.booleans())
@example(cuts=[200, 230], cov_type="cluster", n_clusters=3, slopes=False)  # an empty part
@example(cuts=[100], cov_type="HC3", n_clusters=2, slopes=True)
def test_any_partitioning_gives_the_in_memory_sandwich(cuts, cov_type, n_clusters,
                                                       slopes) -> None:
    """However the rows are split (empty partitions, clusters across partitions),
    the partitions' pieces add to the in-memory sandwich; ``slopes``: the arrow
    is a factor × numeric interaction (values on the levels' columns)."""
    import expfam.design.matrix as matrix

    rng = np.random.default_rng(len(cuts) + n_clusters)
    n = 500
    codes = np.concatenate([np.arange(12), np.arange(12), rng.integers(0, 12, n - 24)])
    df = pd.DataFrame({"x": rng.standard_normal(n), "z": rng.standard_normal(n),
                       "g": [f"g{c}" for c in codes],
                       "w": rng.integers(1, 3, n).astype(float),
                       "cl": rng.integers(0, n_clusters, n)})
    df["y"] = rng.poisson(np.exp(0.3 + 0.5 * df.x + (df.g == "g3"))).astype(float)
    df.loc[:11, "y"] += 1.0
    bounds = [0, *sorted(cuts), n]
    ddf = dd.from_delayed([dask.delayed(df.iloc[a:b]) for a, b in itertools.pairwise(bounds)],
                          meta=df.head(0))
    formula = "y ~ z + C(g):x" if slopes else "y ~ x + C(g) + C(g):x"
    groups = {"groups": df["cl"]} if cov_type == "cluster" else {}
    with pytest.MonkeyPatch.context() as patch, dask.config.set(scheduler="sync"):
        patch.setattr(matrix, "ARROW_LEVELS", 4)  # the 12 levels make an arrow
        mem = ef.glm(formula, df, family="poisson", weights="w").fit(
            tol=TOL, cov_type=cov_type, **groups)
        res = ef.glm(formula, ddf, family="poisson", weights="w").fit(
            tol=TOL, cov_type=cov_type, **({"groups": "cl"} if groups else {}))
    assert res._sandwich is not None
    np.testing.assert_allclose(res.bse, mem.bse, rtol=RTOL)
    np.testing.assert_allclose(res.cov_params().to_numpy(), mem.cov_params().to_numpy(),
                               rtol=RTOL, atol=1e-14)
