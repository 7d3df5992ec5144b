"""Factors as codes and sparse designs give the same fit as dense dummy columns."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import expfam as ef
from expfam.design.formula import model_frame
from expfam.design.matrix import StructuredDesign
from expfam.errors import InputError, SeparationWarning

FORMULAS = ["y ~ x + g", "y ~ x * g + h", "y ~ g:h + x", "y ~ C(g, contr.sum) + x:h",
            "y ~ 0 + g + x", "y ~ x + C(g, contr.treatment('b')) * h"]
FAMILIES = ["bernoulli", "binomial", "poisson", "gaussian", "categorical"]


def factor_data(seed: int, n: int, k_g: int, k_h: int, family: str) -> pd.DataFrame:
    """Random data with factors g (k_g levels) and h (k_h levels); every level of g
    sees every outcome, so no level is separated."""
    rng = np.random.default_rng(seed)
    g = np.array(list("abcdef"))[np.arange(n) % k_g]
    rng.shuffle(g)
    df = pd.DataFrame({"x": rng.normal(size=n), "g": g,
                       "h": np.array(["u", "v", "w", "z"])[rng.integers(0, k_h, n)]})
    eta = 0.4 * df.x.to_numpy() + rng.normal(0, 0.5, 6)[np.searchsorted(list("abcdef"), g)]
    if family in ("bernoulli", "binomial"):
        df["y"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
        for level in "abcdef"[:k_g]:  # both outcomes at every level
            rows = np.flatnonzero(g == level)[:2]
            df.loc[rows, "y"] = [0.0, 1.0]
    elif family == "poisson":
        df["y"] = rng.poisson(np.exp(eta)).astype(float)
        df.loc[np.arange(n) < k_g * 3, "y"] += 1.0
    elif family == "gaussian":
        df["y"] = eta + rng.normal(size=n)
    else:
        df["y"] = np.array(["p", "q", "r"])[rng.integers(0, 3, n)]
        for level in "abcdef"[:k_g]:
            rows = np.flatnonzero(g == level)[:3]
            df.loc[rows, "y"] = ["p", "q", "r"]
    return df


def dense_twin(formula: str, df: pd.DataFrame, family: str) -> ef.GLM:
    """The same model with formulaic's dense dummy columns."""
    labelled = "classes" if family == "categorical" else "binary"
    frame = model_frame(formula, df, labelled_response=labelled)
    assert isinstance(frame.exog, pd.DataFrame)
    model = ef.GLM(frame.endog, frame.exog, family=family)
    model.formula = frame.terms
    return model


def _close(a: object, b: object, rtol: float = 1e-6) -> None:
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float),
                               rtol=rtol, atol=1e-8)


@settings(max_examples=25)
@given(seed=st.integers(0, 2**31), n=st.integers(80, 240), k_g=st.integers(2, 5),
       k_h=st.integers(2, 3), formula=st.sampled_from(FORMULAS),
       family=st.sampled_from(FAMILIES))
def test_structured_design_fits_as_dense_dummies(seed, n, k_g, k_h, formula, family):
    df = factor_data(seed, n, k_g, k_h, family)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        structured = ef.glm(formula, df, family=family)
        dense = dense_twin(formula, df, family)
        assert isinstance(structured.exog, StructuredDesign)
        try:
            ref = dense.fit()
        except Exception:  # a rank-deficient random draw: both must refuse alike
            assume(False)
        assume(ref.converged and ref.separation is None and not ref.aliased)
        assume(float(np.max(np.abs(ref.params.to_numpy()))) < 8)
        res = structured.fit()
        assert list(res.params.index) == list(ref.params.index)
        _close(res.params, ref.params)
        _close(res.bse, ref.bse)
        _close(res.llf, ref.llf, 1e-9)
        new = df.sample(20, random_state=1)
        _close(res.predict(new), ref.predict(new))
        robust = ["HC0", "HC3"] if family != "categorical" else ["HC0"]
        for cov_type in robust:
            _close(structured.fit(cov_type=cov_type).bse, dense.fit(cov_type=cov_type).bse)
        groups = np.arange(n) % 7
        _close(structured.fit(cov_type="cluster", groups=groups).bse,
               dense.fit(cov_type="cluster", groups=groups).bse)


def many_levels(seed: int = 0, n: int = 6000, levels: int = 150) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.integers(0, levels, n)
    df = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n),
                       "g": pd.Categorical.from_codes(g, [f"s{i:04d}" for i in range(levels)])})
    eta = 0.5 * df.x - 0.3 * df.z + rng.normal(0, 0.5, levels)[g]
    df["y"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    df.loc[np.arange(2 * levels), "y"] = np.tile([0.0, 1.0], levels)
    df.loc[np.arange(2 * levels), "g"] = np.repeat(df.g.cat.categories, 2)
    return df


def test_many_levels_use_the_schur_complement_and_match_dense():
    df = many_levels()
    model = ef.glm("y ~ x + z + g", df)
    res = model.fit()
    assert type(res.solver.hessian).__name__ == "ArrowGram"
    ref = dense_twin("y ~ x + z + g", df, "bernoulli").fit()
    _close(res.params, ref.params, 1e-8)
    _close(res.bse, ref.bse, 1e-8)
    block = res.cov_params(columns="g[T.s000")
    _close(block, ref.cov_params().loc[block.index, block.columns], 1e-8)
    for cov_type in ("HC1", "HC3"):
        _close(model.fit(cov_type=cov_type).bse,
               dense_twin("y ~ x + z + g", df, "bernoulli").fit(cov_type=cov_type).bse)


def test_influence_on_factor_codes_matches_dense(monkeypatch):
    """Leverages and every influence measure of a many-level factor (an arrow: hat
    values by the Schur complement) equal the dense-dummy fit's; the rows are never
    written out whole (only dfbeta, whose output is n × p, reads them by blocks)."""
    df = many_levels(seed=3, n=3000, levels=100)
    res = ef.glm("y ~ x + z + g", df).fit(tol=1e-12)
    assert type(res.solver.hessian).__name__ == "ArrowGram"
    ref = dense_twin("y ~ x + z + g", df, "bernoulli").fit(tol=1e-12)
    infl, dense = res.get_influence(), ref.get_influence()

    def no_dense(self):
        raise AssertionError("the whole design was written out")

    monkeypatch.setattr(StructuredDesign, "dense", no_dense)
    for name in ("hat_matrix_diag", "cooks_distance", "resid_studentized",
                 "resid_standardized", "dffits", "cov_ratio"):
        _close(getattr(infl, name), getattr(dense, name), 1e-7)
    monkeypatch.undo()
    _close(infl.dfbetas, dense.dfbetas, 1e-7)


@pytest.mark.parametrize("method", ["newton", "gd", "lbfgs", "sgd", "firth"])
def test_every_solver_runs_on_factor_codes(method):
    df = many_levels(n=3000, levels=70)
    model, dense = ef.glm("y ~ x + z + g", df), dense_twin("y ~ x + z + g", df, "bernoulli")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "firth":
            res, ref = model.fit(penalty="firth"), dense.fit(penalty="firth")
        else:
            res, ref = model.fit(method), dense.fit()
    if method in ("newton", "lbfgs", "firth"):
        _close(res.params, ref.params)
        _close(res.bse, ref.bse)
    else:  # first-order solvers stop within a fraction of a standard error
        assert np.max(np.abs(res.params - ref.params) / ref.bse) < 0.3
        _close(res.bse, ref.bse, 0.05)


def test_sparse_matrix_is_a_design():
    rng = np.random.default_rng(5)
    X = sp.random(500, 12, density=0.3, format="csr", random_state=5)
    X = sp.hstack([np.ones((500, 1)), X]).tocsr()
    y = (rng.random(500) < 0.4).astype(float)
    res, ref = ef.GLM(y, X).fit(), ef.GLM(y, X.toarray()).fit()
    _close(res.params, ref.params, 1e-9)
    _close(res.bse, ref.bse, 1e-9)
    _close(ef.GLM(y, X).fit(cov_type="HC2").bse, ef.GLM(y, X.toarray()).fit(cov_type="HC2").bse)
    _close(res.predict(X[:7]), ref.predict(X[:7].toarray()), 1e-12)


def test_wide_sparse_design_is_fitted_by_lbfgs():
    rng = np.random.default_rng(6)
    X = sp.random(3000, 1200, density=0.01, format="csr", random_state=6, data_rvs=np.ones)
    X = sp.hstack([np.ones((3000, 1)), X]).tocsr()
    y = (rng.random(3000) < 0.4).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ef.GLM(y, X).fit()
    assert res.method == "lbfgs"


def test_sparse_matrix_with_nan_is_refused():
    X = sp.random(50, 4, density=0.5, format="csr", random_state=1)
    X.data[3] = np.nan
    with pytest.raises(InputError, match="sparse exog is NaN"):
        ef.GLM(np.zeros(50), X)


def test_factor_with_one_level_is_refused():
    df = pd.DataFrame({"y": [0.0, 1, 0, 1], "x": [1.0, 2, 3, 4], "g": ["a"] * 4})
    with pytest.raises(InputError, match="'g' has a single level"):
        ef.glm("y ~ x + g", df)


def test_unseen_level_in_new_data_is_named():
    df = many_levels(n=2000, levels=10)
    res = ef.glm("y ~ x + g", df).fit()
    new = df.head(3).copy()
    new["g"] = ["s0001", "nowhere", "s0002"]
    with pytest.raises(InputError, match="nowhere"):
        res.predict(new)
    assert np.isnan(res.predict(new, unseen="nan").iloc[1])


def test_separated_levels_are_infinite_and_named():
    df = many_levels(n=4000, levels=100)
    df["g"] = df["g"].astype(str)
    df.loc[df.g == "s0005", "y"] = 0.0
    df.loc[df.g == "s0017", "y"] = 1.0
    with pytest.warns(SeparationWarning, match=r"g\[T.s0005\] \(−∞\), g\[T.s0017\] \(\+∞\)"):
        res = ef.glm("y ~ x + g", df).fit()
    assert res.params["g[T.s0005]"] == -np.inf and res.params["g[T.s0017]"] == np.inf
    assert np.isnan(res.bse["g[T.s0005]"])
    rest = ef.glm("y ~ x + g", df[~df.g.isin(["s0005", "s0017"])]).fit()
    _close(res.params[rest.params.index], rest.params, 1e-8)
    _close(res.bse[rest.params.index], rest.bse, 1e-8)
    _close(res.llf, rest.llf, 1e-9)


def test_many_level_factor_agrees_with_r():
    """600 levels as codes (Schur complement) against R's glm on dummy columns
    (validation/r/factor_reference.R)."""
    from pathlib import Path

    from validation.factor_cases import FORMULA, PATH

    results = Path(__file__).parents[1] / "validation" / "r" / "results"
    r_coef = pd.read_csv(results / "factor_many_levels_coef.csv", index_col=0)
    r_stats = pd.read_csv(results / "factor_many_levels_stats.csv")
    df = pd.read_csv(PATH)
    model = ef.glm(FORMULA, df)
    res = model.fit()
    assert type(res.solver.hessian).__name__ == "ArrowGram"
    names = ["(Intercept)" if n == "Intercept" else n.replace("g[T.", "g").rstrip("]")
             for n in res.params.index]
    _close(res.params.to_numpy(), r_coef.loc[names, "estimate"], 1e-6)
    _close(res.bse.to_numpy(), r_coef.loc[names, "std_error"], 1e-6)
    _close(model.fit(cov_type="HC0").bse.to_numpy(), r_coef.loc[names, "std_error_HC0"], 1e-6)
    _close(res.llf, r_stats.loglik[0], 1e-10)
    _close(res.deviance, r_stats.deviance[0], 1e-10)
    assert res.df_resid == r_stats.df_resid[0]


def test_sparse_row_blocks_share_the_matrix_and_keep_its_flags():
    """A block of CSR rows is a view (no copy of the stored values per pass) and
    says what the whole matrix says about its index order."""
    from expfam.design.parts import SparseColumns

    x = sp.random(60, 7, density=0.3, format="csr", random_state=0)
    for rows in (slice(0, 60), slice(3, 20), slice(59, 60), slice(10, 10)):
        block = SparseColumns(x).rows(rows).matrix
        assert (block != x[rows]).nnz == 0 and block.shape == x[rows].shape
        if block.nnz:
            assert np.shares_memory(block.data, x.data)
    unsorted = sp.csr_matrix((np.array([1.0, 2, 3, 4]), np.array([2, 0, 1, 0]),
                              np.array([0, 2, 4])), shape=(2, 3))
    block = SparseColumns(unsorted).rows(slice(1, 2)).matrix
    assert not block.has_sorted_indices
    np.testing.assert_array_equal(block.toarray(), [[4.0, 3.0, 0.0]])
