"""Formulas with factors on Dask (issue 13): partitions hold factors as codes.

Every partition builds a StructuredDesign with the in-memory spec, so the Newton
sums use the structured kernels and a factor with many levels keeps its block
of XᵀWX diagonal (an ArrowGram summed over partitions, solved by the Schur
complement).  Every statistic must equal the in-memory fit of the same formula
to 1e-8 relative; the in-memory fits are themselves checked against
statsmodels and R in tests/test_structured_design.py and tests/test_formula.py.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import expfam as ef
from expfam.design.gram import ArrowGram
from expfam.design.matrix import StructuredDesign
from expfam.design.parts import FactorColumns
from expfam.errors import InputError

dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

from test_dask import RTOL, TOL, assert_same  # noqa: E402


@pytest.fixture(scope="module")
def stores() -> pd.DataFrame:
    """Rows with a 3-level factor, a 300-level factor, weights, clusters, gaps."""
    rng = np.random.default_rng(31)
    n = 6000
    df = pd.DataFrame({
        "x": rng.standard_normal(n), "z": rng.standard_normal(n),
        "g": rng.choice(["b", "a", "c"], n), "w": rng.integers(1, 4, n).astype(float),
        "cl": rng.integers(0, 40, n), "off": rng.normal(0, 0.2, n),
        "store": pd.Categorical.from_codes(rng.integers(0, 300, n),
                                           [f"s{i:03d}" for i in range(300)]),
    })
    effect = rng.normal(0, 0.5, 300)[df["store"].cat.codes]
    eta = 0.3 + df.x - 0.5 * df.z + 0.7 * (df.g == "c") + effect
    df["y"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    df["cnt"] = rng.poisson(np.exp(0.2 + 0.3 * df.x + df.off + 0.5 * effect))
    df["cls"] = np.where(df.y == 1, rng.choice(["u", "v"], n), "t")
    df.loc[[7, 1500, 4100], "x"] = np.nan  # dropped, in memory and per partition
    df.loc[[20, 3333], "g"] = None
    return df


def _first_part(res):
    (part,) = dask.compute(res._parts[0])
    return part


@pytest.mark.usefixtures("client")
def test_small_factor_partitions_hold_codes(stores) -> None:
    ddf = dd.from_pandas(stores, npartitions=3)
    formula = "y ~ x + z + C(g)"
    mem = ef.logit(formula, stores, weights="w").fit(tol=TOL, cov_type="HC3")
    res = ef.logit(formula, ddf, weights="w").fit(tol=TOL, cov_type="HC3")
    assert_same(res, mem)
    assert res.model.n_dropped == mem.model.n_dropped == 5
    # A partition's design: the factor as one code per row, no dummy columns.
    exog = _first_part(res).problem.exog
    assert isinstance(exog, StructuredDesign)
    (factor,) = [p for p in exog.parts if isinstance(p, FactorColumns)]
    assert factor.codes.ndim == 1 and factor.width == 2


@pytest.mark.usefixtures("client")
def test_factor_by_numeric_interaction_and_lazy_prediction(stores) -> None:
    ddf = dd.from_pandas(stores, npartitions=4)
    formula = "y ~ x + C(g) + C(g):z"
    kept = stores.dropna()
    mem = ef.logit(formula, kept).fit(tol=TOL, cov_type="cluster", groups=kept["cl"])
    res = ef.logit(formula, ddf).fit(tol=TOL, cov_type="cluster", groups="cl")
    assert_same(res, mem)
    new = dd.from_pandas(kept.iloc[:900], npartitions=3)
    pred = res.predict(new)
    assert isinstance(pred, dd.Series)
    np.testing.assert_allclose(pred.compute().to_numpy(), mem.predict(kept.iloc[:900]),
                               rtol=RTOL)


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC2"])
@pytest.mark.usefixtures("client")
def test_many_levels_keep_an_arrow_across_partitions(stores, cov_type) -> None:
    """300 levels: the Hessian of every partition is an arrow, summed as one and
    solved by the Schur complement; the fit (weights, a dropped row) equals the
    in-memory one, whose arrow path is checked against dense fits elsewhere."""
    ddf = dd.from_pandas(stores, npartitions=3)
    formula = "cnt ~ x + C(store)"
    mem = ef.glm(formula, stores, family="poisson", weights="w", offset="off").fit(
        tol=TOL, cov_type=cov_type)
    res = ef.glm(formula, ddf, family="poisson", weights="w", offset="off").fit(
        tol=TOL, cov_type=cov_type)
    assert isinstance(res.solver.hessian, ArrowGram)
    assert isinstance(mem.solver.hessian, ArrowGram)
    assert len(res.solver.hessian.big_cols) == 299
    assert_same(res, mem)


@pytest.mark.usefixtures("client")
def test_multinomial_and_lda_with_factors(stores) -> None:
    ddf = dd.from_pandas(stores, npartitions=3)
    mem = ef.mnlogit("cls ~ x + C(g)", stores).fit(tol=TOL, cov_type="HC1")
    res = ef.mnlogit("cls ~ x + C(g)", ddf).fit(tol=TOL, cov_type="HC1")
    assert_same(res, mem)
    assert isinstance(_first_part(res).problem.exog, StructuredDesign)
    np.testing.assert_allclose(res.predict(ddf).compute().to_numpy(),
                               mem.predict(stores).to_numpy(), rtol=RTOL)
    # LDA needs the features' pooled covariance: dense columns, as in memory.
    mem_lda = ef.lda("cls ~ x + z + C(g)", stores).fit()
    res_lda = ef.lda("cls ~ x + z + C(g)", ddf).fit()
    np.testing.assert_allclose(res_lda.covariance, mem_lda.covariance, rtol=RTOL)
    np.testing.assert_allclose(res_lda.logistic_bse(), mem_lda.logistic_bse(), rtol=RTOL)


def test_two_thousand_levels_without_an_l_by_l_matrix(monkeypatch) -> None:
    """2,000 levels (Schur path): no L × L matrix is formed, on the workers or the
    client, and standard errors are exact; the full covariance is refused as in
    memory beyond 5,000 coefficients (here asked of a robust fit)."""
    import expfam.design.matrix as matrix

    rng = np.random.default_rng(5)
    n, levels = 40_000, 2000
    df = pd.DataFrame({"x": rng.standard_normal(n), "s": pd.Categorical.from_codes(
        rng.integers(0, levels, n), [f"l{i}" for i in range(levels)])})
    df["y"] = rng.poisson(np.exp(0.2 + 0.4 * df.x + rng.normal(0, 0.3, levels)[
        df["s"].cat.codes])).astype(float)
    real = matrix.StructuredDesign._dense_gram

    def guarded(self, w, which, size):  # the dense Gram never covers the levels
        assert size < levels, size
        return real(self, w, which, size)

    monkeypatch.setattr(matrix.StructuredDesign, "_dense_gram", guarded)
    with dask.config.set(scheduler="sync"):
        res = ef.glm("y ~ x + C(s)", dd.from_pandas(df, npartitions=4),
                     family="poisson").fit(tol=TOL)
    mem = ef.glm("y ~ x + C(s)", df, family="poisson").fit(tol=TOL)
    np.testing.assert_allclose(res.params, mem.params, rtol=RTOL)
    np.testing.assert_allclose(res.bse, mem.bse, rtol=RTOL)
    for name in ("llf", "deviance", "null_deviance", "aic", "bic", "pearson_chi2"):
        np.testing.assert_allclose(getattr(res, name), getattr(mem, name), rtol=RTOL)
    np.testing.assert_allclose(res.cov_params("C(s)[T.l1").to_numpy(),
                               mem.cov_params("C(s)[T.l1").to_numpy(), rtol=RTOL)


@settings(max_examples=6, deadline=None)
@given(cuts=st.lists(st.integers(1, 599), max_size=3, unique=True),
       missing=st.lists(st.integers(0, 599), max_size=40),
       arrow=st.booleans())
@example(cuts=[200, 230], missing=list(range(200, 230)), arrow=True)  # an empty partition
def test_any_partitioning_of_a_factor_formula_gives_the_in_memory_fit(
        cuts, missing, arrow) -> None:
    """However the rows are split, the structured partition sums (dense or arrow
    Hessians, empty partitions included) give the in-memory fit."""
    import expfam.design.matrix as matrix

    rng = np.random.default_rng(len(cuts) + 5 * len(missing))
    n = 600
    df = pd.DataFrame({"x": rng.standard_normal(n),
                       "g": rng.choice([f"g{i}" for i in range(12)], n),
                       "w": rng.integers(1, 3, n).astype(float)})
    df["y"] = rng.poisson(np.exp(0.3 + 0.5 * df.x + (df.g == "g3"))).astype(float)
    df.loc[missing, "x"] = np.nan
    bounds = [0, *sorted(cuts), n]
    parts = [dask.delayed(df.iloc[a:b]) for a, b in itertools.pairwise(bounds)]
    ddf = dd.from_delayed(parts, meta=df.head(0))
    formula = "y ~ x + C(g) + C(g):x"
    # A low threshold puts the 12-level factor on the Schur path too (the sync
    # scheduler builds the partitions in this process).
    with pytest.MonkeyPatch.context() as patch, dask.config.set(scheduler="sync"):
        patch.setattr(matrix, "ARROW_LEVELS", 4 if arrow else 64)
        mem = ef.glm(formula, df, family="poisson", weights="w").fit(tol=TOL,
                                                                     cov_type="HC1")
        res = ef.glm(formula, ddf, family="poisson", weights="w").fit(tol=TOL,
                                                                     cov_type="HC1")
    assert isinstance(res.solver.hessian, ArrowGram) == arrow
    for name in ("params", "bse"):
        np.testing.assert_allclose(getattr(res, name), getattr(mem, name), rtol=RTOL)
    for name in ("llf", "deviance", "null_deviance", "pearson_chi2"):
        np.testing.assert_allclose(getattr(res, name), getattr(mem, name), rtol=RTOL)


@pytest.mark.parametrize(("formula", "extra"), [
    ("cnt ~ x + C(g) + offset(np.log(e))", {}),
    ("cnt ~ x + C(store)", {"exposure": "e"}),
    ("cnt ~ x + C(g) + offset(np.log(x + 3))", {"offset": "off"}),
])
@pytest.mark.usefixtures("client")
def test_offset_terms_and_exposure(stores, formula, extra) -> None:
    """offset() terms and exposure= are evaluated per partition (a missing
    exposure drops its row, as in memory), in the null model too, and again on
    new rows at prediction."""
    df = stores.assign(e=np.exp(stores["off"]) * 2.0)
    df.loc[[11, 2222], "e"] = np.nan
    ddf = dd.from_pandas(df, npartitions=3)
    mem = ef.glm(formula, df, family="poisson", **extra).fit(tol=TOL)
    res = ef.glm(formula, ddf, family="poisson", **extra).fit(tol=TOL)
    assert_same(res, mem)
    assert res.model.n_dropped == mem.model.n_dropped
    pred = res.predict(ddf).compute().to_numpy()
    expected = mem.predict(df).to_numpy()
    np.testing.assert_array_equal(np.isnan(pred), np.isnan(expected))
    np.testing.assert_allclose(pred, expected, rtol=RTOL)


def test_exposure_on_dask_arrays_and_a_bad_exposure(stores) -> None:
    import dask.array as da

    kept = stores.dropna()
    x = ef.add_constant(kept[["x"]]).to_numpy()
    y, e = kept["cnt"].to_numpy(dtype=float), np.exp(kept["off"].to_numpy())
    mem = ef.GLM(y, x, family="poisson", exposure=e).fit(tol=TOL)
    with dask.config.set(scheduler="sync"):
        res = ef.GLM(da.from_array(y, chunks=2000), da.from_array(x, chunks=(2000, 2)),
                     family="poisson", exposure=da.from_array(e, chunks=2000)).fit(tol=TOL)
        assert_same(res, mem)
        bad = dd.from_pandas(stores.assign(e=stores["off"]), npartitions=2)
        with pytest.raises(InputError, match=r"exposure must be positive.*partition [01]"):
            ef.glm("cnt ~ x", bad, family="poisson", exposure="e").fit()


def test_a_numeric_column_coded_by_c_gets_every_level(stores) -> None:
    """C(cl) of an integer column: its levels are every value of the complete
    rows (before, only the first rows' values, so later partitions failed)."""
    ddf = dd.from_pandas(stores, npartitions=3)
    mem = ef.logit("y ~ x + C(cl)", stores).fit(tol=TOL)
    with dask.config.set(scheduler="sync"):
        res = ef.logit("y ~ x + C(cl)", ddf).fit(tol=TOL)
        pred = res.predict(ddf).compute().to_numpy()
    assert list(res.params.index) == list(mem.params.index)
    assert_same(res, mem)
    np.testing.assert_allclose(pred, mem.predict(stores).to_numpy(), rtol=RTOL)
