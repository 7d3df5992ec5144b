"""L-BFGS, gradient descent, Firth's penalty and quasi-likelihood scales on Dask (issue 13).

Each must give the in-memory fit's every statistic to 1e-8 relative; the
in-memory fits are themselves checked against statsmodels, R and logistf in
tests/test_gradient_solvers.py, tests/test_firth.py and tests/test_dispersion*.
Formulas with a factor run with partitions holding factor codes (a
StructuredDesign), weights and an offset; most tests use the sync scheduler
(the arithmetic is the same), one per feature the LocalCluster with processes.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import expfam as ef
from expfam.design.gram import ArrowGram
from expfam.design.matrix import StructuredDesign
from expfam.errors import InputError

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

from test_dask import RTOL, TOL, assert_same  # noqa: E402


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    """A 3-level factor, a 120-level one, a column in the hundreds, weights, an offset."""
    rng = np.random.default_rng(1313)
    n = 3000
    df = pd.DataFrame({
        "x": rng.standard_normal(n), "z": rng.normal(100.0, 30.0, n),
        "g": rng.choice(["b", "a", "c"], n), "w": rng.integers(1, 4, n).astype(float),
        "off": rng.normal(0, 0.2, n),
        "store": pd.Categorical.from_codes(rng.integers(0, 120, n),
                                           [f"s{i:03d}" for i in range(120)]),
    })
    effect = rng.normal(0, 0.4, 120)[df["store"].cat.codes]
    eta = 0.3 + df.x - 0.01 * (df.z - 100) + 0.7 * (df.g == "c") + df.off
    df["y"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    df["cnt"] = rng.negative_binomial(2, 2 / (2 + np.exp(0.5 + 0.3 * df.x + df.off + effect)))
    df["cls"] = np.where(df.y == 1, rng.choice(["u", "v"], n), "t")
    df.loc[[11, 1700], "x"] = np.nan  # dropped, in memory and per partition
    return df


def _no_dummies(monkeypatch) -> None:
    """Fail if a partition's factor is written out as dummy columns."""
    def refuse(self):
        raise AssertionError("a factor was expanded to dummy columns")

    monkeypatch.setattr(StructuredDesign, "dense", refuse)


def assert_first_order(res, mem, exact) -> None:
    """A Dask first-order fit: its estimate is the in-memory fit's (same method),
    and every statistic the exact information's at the estimate (the in-memory
    Newton fit's).  The in-memory first-order fit keeps the Hessian from before
    its closing Newton step when η moved by under 1e-6, so its standard errors
    can differ from the exact ones in the 7th digit; the Dask polish pass sums
    the Hessian at the estimate anyway and uses it."""
    np.testing.assert_allclose(np.asarray(res.params), np.asarray(mem.params), rtol=RTOL)
    np.testing.assert_allclose(np.asarray(res.bse), np.asarray(mem.bse), rtol=1e-6)
    assert_same(res, exact)


def _part(res):
    (part,) = dask.compute(res._parts[0])
    return part


# ----------------------------------------------------------------------
# L-BFGS and gradient descent
# ----------------------------------------------------------------------
@pytest.mark.parametrize("method", ["lbfgs", "gd"])
def test_first_order_with_a_factor_weights_and_an_offset(rows, method, monkeypatch) -> None:
    formula = "y ~ x + z + C(g)"
    mem = ef.logit(formula, rows, weights="w", offset="off").fit(method=method)
    model = ef.logit(formula, dd.from_pandas(rows, npartitions=4), weights="w", offset="off")
    _no_dummies(monkeypatch)  # (the model's spec was read from the first rows)
    with dask.config.set(scheduler="sync"):
        res = model.fit(method=method)
        assert isinstance(_part(res).problem.exog, StructuredDesign)
    monkeypatch.undo()
    assert res.method == mem.method == method and res.converged
    exact = ef.logit(formula, rows, weights="w", offset="off").fit(tol=TOL)
    assert_first_order(res, mem, exact)
    # The passes: one for the moments, one per evaluation (as many as in memory's
    # history rows at least), the exact information and the polish.
    assert res.passes.count("column moments (standardizing)") == 1
    assert res.passes[-2:] == ["exact information at the estimate",
                               "Newton polish: loss, gradient, Hessian, statistics"]
    assert res.n_passes == len(res.passes)
    evaluations = res.passes.count("loss and gradient")
    assert evaluations >= len(mem.history) - 3
    assert list(res.history["kind"])[-2:] == ["newton polish", "final"]


def test_lbfgs_multinomial_many_levels_and_probit(rows) -> None:
    ddf = dd.from_pandas(rows, npartitions=3)
    cases = [
        lambda d: ef.mnlogit("cls ~ x + C(g)", d),
        lambda d: ef.glm("cnt ~ x + C(store)", d, family="poisson", weights="w", offset="off"),
        lambda d: ef.glm("y ~ x + C(g)", d, family="binomial", link="probit"),
    ]
    for model in cases:
        with dask.config.set(scheduler="sync"):
            res = model(ddf).fit(method="lbfgs")
        assert res.converged
        assert_first_order(res, model(rows).fit(method="lbfgs"), model(rows).fit(tol=TOL))
        if "store" in res.model.exog_names[-1]:  # 120 levels: the arrow is kept
            assert isinstance(res.solver.hessian, ArrowGram)


@pytest.mark.usefixtures("client")
def test_lbfgs_on_a_local_cluster(rows) -> None:
    formula = "y ~ x + z + C(g)"
    model = lambda d: ef.logit(formula, d, weights="w", offset="off")  # noqa: E731
    res = model(dd.from_pandas(rows, npartitions=4)).fit(method="lbfgs", cov_type="HC1")
    assert_first_order(res, model(rows).fit(method="lbfgs", cov_type="HC1"),
                       model(rows).fit(tol=TOL, cov_type="HC1"))


@settings(max_examples=5, deadline=None)
@given(cuts=st.lists(st.integers(1, 299), max_size=3, unique=True),
       method=st.sampled_from(["lbfgs", "gd"]))
def test_any_partitioning_gives_the_first_order_fit_in_memory(cuts, method) -> None:
    """Dask arrays cut anywhere: the same estimate and standard errors."""
    rng = np.random.default_rng(len(cuts))
    n = 300
    x = ef.add_constant(rng.standard_normal((n, 2)) * [1.0, 40.0])
    y = rng.poisson(np.exp(0.3 + 0.5 * x[:, 1])).astype(float)
    bounds = [0, *sorted(cuts), n]
    chunks = tuple(int(b - a) for a, b in itertools.pairwise(bounds))
    mem = ef.GLM(y, x, family="poisson").fit(method=method)
    exact = ef.GLM(y, x, family="poisson").fit(tol=TOL)
    with dask.config.set(scheduler="sync"):
        res = ef.GLM(da.from_array(y, chunks=(chunks,)), da.from_array(x, chunks=(chunks, 3)),
                     family="poisson").fit(method=method)
    np.testing.assert_allclose(res.params, mem.params, rtol=RTOL)
    np.testing.assert_allclose(res.bse, exact.bse, rtol=RTOL)
    for name in ("llf", "deviance", "null_deviance", "pearson_chi2"):
        np.testing.assert_allclose(getattr(res, name), getattr(mem, name), rtol=RTOL)


# ----------------------------------------------------------------------
# Firth's penalty
# ----------------------------------------------------------------------
def test_firth_with_a_factor_weights_and_an_offset(rows, monkeypatch) -> None:
    formula = "y ~ x + z + C(g)"
    mem = ef.logit(formula, rows, weights="w", offset="off").fit(penalty="firth")
    model = ef.logit(formula, dd.from_pandas(rows, npartitions=4), weights="w", offset="off")
    _no_dummies(monkeypatch)  # hat values from the codes' products
    with dask.config.set(scheduler="sync"):
        res = model.fit(penalty="firth")
    monkeypatch.undo()
    assert res.method == "firth" and res.converged
    assert_same(res, mem)
    np.testing.assert_allclose(res.penalized_llf, mem.penalized_llf, rtol=RTOL)
    # Two passes per iteration; the last score pass also summed the statistics.
    assert "likelihood, deviance and residual sums" not in res.passes
    firth_passes = [p for p in res.passes if p.startswith("Firth")]
    assert len(firth_passes) == 2 * res.n_iter


def test_firth_under_separation_and_its_profile_intervals() -> None:
    """Separated data (x > 0 ⇔ y = 1): finite estimates; the profile penalized-
    likelihood intervals equal the in-memory ones (checked against logistf)."""
    rng = np.random.default_rng(7)
    n = 400
    df = pd.DataFrame({"x": rng.standard_normal(n), "g": rng.choice(["a", "b"], n)})
    df["y"] = (df.x > 0).astype(int)
    mem = ef.logit("y ~ x + C(g)", df).fit(penalty="firth")
    with dask.config.set(scheduler="sync"):
        res = ef.logit("y ~ x + C(g)", dd.from_pandas(df, npartitions=3)).fit(
            penalty="firth")
        assert_same(res, mem)
        before = res.n_passes
        profile = res.conf_int(method="profile", terms=["x"])
    assert res.n_passes > before and len(res.passes) == res.n_passes
    np.testing.assert_allclose(profile.to_numpy(),
                               mem.conf_int(method="profile").loc[["x"]].to_numpy(),
                               rtol=RTOL)


@pytest.mark.usefixtures("client")
def test_firth_binomial_counts_on_a_local_cluster() -> None:
    rng = np.random.default_rng(17)
    m = 600
    big = pd.DataFrame({"x": rng.standard_normal(m), "g": rng.choice(["a", "b", "c"], m),
                        "n": rng.integers(1, 6, m)})
    big["k"] = rng.binomial(big.n, 1 / (1 + np.exp(-(0.5 * big.x - 0.4 * (big.g == "b")))))
    mem = ef.glm("k ~ x + C(g)", big, family="binomial", trials="n").fit(penalty="firth")
    res = ef.glm("k ~ x + C(g)", dd.from_pandas(big, npartitions=3), family="binomial",
                 trials="n").fit(penalty="firth")
    assert_same(res, mem)
    np.testing.assert_allclose(res.penalized_llf, mem.penalized_llf, rtol=RTOL)


# ----------------------------------------------------------------------
# Quasi-likelihood scales
# ----------------------------------------------------------------------
@pytest.mark.parametrize("scale", ["X2", "dev", 2.5])
def test_quasi_poisson_scales(rows, scale) -> None:
    formula = "cnt ~ x + C(g)"
    mem = ef.glm(formula, rows, family="poisson", weights="w", offset="off").fit(
        scale=scale, tol=TOL)
    with dask.config.set(scheduler="sync"):
        res = ef.glm(formula, dd.from_pandas(rows, npartitions=4), family="poisson",
                     weights="w", offset="off").fit(scale=scale, tol=TOL)
    assert res.quasi and np.isnan(res.llf) and np.isnan(res.aic)
    assert res.use_t == mem.use_t
    assert_same(res, mem)
    assert str(res.summary()) == str(mem.summary())


@pytest.mark.usefixtures("client")
def test_quasibinomial_on_a_local_cluster(rows) -> None:
    mem = ef.logit("y ~ x + C(g)", rows, weights="w").fit(scale="X2", tol=TOL)
    res = ef.logit("y ~ x + C(g)", dd.from_pandas(rows, npartitions=3), weights="w").fit(
        scale="X2", tol=TOL)
    assert_same(res, mem)


# ----------------------------------------------------------------------
# What is refused, and how
# ----------------------------------------------------------------------
@pytest.mark.parametrize(("kwargs", "match"), [
    ({"method": "sgd"}, "not available on Dask"),
    ({"method": "lbfgs", "learning_rate": 0.1}, "learning_rate"),
    ({"penalty": "firth", "cov_type": "HC0"}, "maximum-likelihood"),
    ({"penalty": "firth", "method": "lbfgs"}, "Newton"),
    ({"penalty": "ridge"}, "penalty must be"),
    ({"scale": "pearson"}, "scale must be"),
])
def test_refusals(rows, kwargs, match) -> None:
    model = ef.logit("y ~ x", dd.from_pandas(rows, npartitions=2))
    with pytest.raises(InputError, match=match):
        model.fit(**kwargs)


def test_refusals_by_family(rows) -> None:
    ddf = dd.from_pandas(rows, npartitions=2)
    with pytest.raises(InputError, match="bernoulli and binomial"):
        ef.glm("cnt ~ x", ddf, family="poisson").fit(penalty="firth")
    with pytest.raises(InputError, match="already estimated"):
        ef.glm("z ~ x", ddf, family="gaussian").fit(scale="X2")
    with pytest.raises(InputError, match="θ"):
        ef.glm("cnt ~ x", ddf, family="negative_binomial").fit(scale="X2")
    with pytest.raises(InputError, match="θ"):
        ef.glm("cnt ~ x", ddf, family="negative_binomial").fit(method="lbfgs")
