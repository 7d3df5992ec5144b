"""Marginal effects and prediction standard errors on factor codes.

A factor with many levels (an arrow information, solved by the Schur
complement) gives the numbers of its dense-dummy twin — the same formula built
by formulaic as dummy columns — and the design is never written out
(``StructuredDesign.dense`` patched to raise).  Beyond 5,000 coefficients the
prediction variances are checked against a direct sparse solve and against the
covariance blocks of the arrow sandwich.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit

import expfam as ef
from expfam.design.formula import model_frame
from expfam.design.matrix import ARROW_LEVELS, StructuredDesign

#: Structured and dense computations are both exact: they agree to rounding.
TWIN = 1e-8
FORMULA = "y ~ x + np.log(z) + g + x:h"


def frame(seed: int, n: int, levels: int) -> pd.DataFrame:
    """Numeric x and z, a factor h (2 levels), a factor g with ``levels`` levels
    (each on at least two rows, with both outcomes: none separated), responses
    for the Bernoulli (yb), Poisson (yp) and categorical (yc) families, and
    cluster labels cl."""
    rng = np.random.default_rng(seed)
    codes = np.concatenate([np.repeat(np.arange(levels), 2),
                            rng.integers(0, levels, n - 2 * levels)])
    df = pd.DataFrame({"x": rng.normal(size=n), "z": rng.uniform(1, 3, n),
                       "h": rng.choice(["u", "v"], n),
                       "g": pd.Categorical.from_codes(codes, [f"s{i:04d}" for i in
                                                              range(levels)]),
                       "cl": rng.integers(0, 40, n)})
    eta = 0.4 * df.x - 0.3 * np.log(df.z) + rng.normal(0, 0.4, levels)[codes]
    df["yb"] = (rng.random(n) < expit(eta)).astype(float)
    df.loc[np.arange(2 * levels), "yb"] = np.tile([0.0, 1.0], levels)
    df["yp"] = rng.poisson(np.exp(eta)).astype(float)
    df.loc[np.arange(0, 2 * levels, 2), "yp"] += 1.0  # no level all zero
    df["yc"] = np.array(["p", "q", "r"])[rng.integers(0, 3, n)]
    return df


def twin(formula: str, df: pd.DataFrame, family: str) -> tuple[ef.GLM, ef.GLM]:
    """The formula model (factor codes) and its dense-dummy twin: formulaic's
    dummy columns, with the same formula terms and data, so that margins and
    predictions rebuild dense designs from the same variables."""
    model = ef.glm(formula, df, family=family)
    assert isinstance(model.exog, StructuredDesign)
    labelled = "classes" if family == "categorical" else "binary"
    dense = model_frame(formula, df, labelled_response=labelled)
    assert isinstance(dense.exog, pd.DataFrame)
    other = ef.GLM(dense.endog, dense.exog, family=family)
    other.formula, other.data = dense.terms, dense.data
    other._constant = list(model._constant)
    return model, other


def _close(a: object, b: object, rtol: float = TWIN) -> None:
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float),
                               rtol=rtol, atol=1e-14)


def _no_dense(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: StructuredDesign) -> None:
        raise AssertionError("a factor was written out as dummy columns")

    monkeypatch.setattr(StructuredDesign, "dense", refuse)


@settings(max_examples=2, deadline=None)
@given(seed=st.integers(0, 2**31), levels=st.integers(ARROW_LEVELS + 1, 90),
       family=st.sampled_from(["bernoulli", "poisson"]))
def test_margins_on_factor_codes_are_the_dense_twins(seed, levels, family):
    """Average and given-row effects (the rest at the typical row) of x, z, h and every level of a
    many-level factor (an arrow), with their delta-method errors."""
    df = frame(seed, 8 * levels, levels).rename(columns={
        "yb" if family == "bernoulli" else "yp": "y"})
    model, dense = twin(FORMULA, df, family)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res, ref = model.fit(tol=1e-12), dense.fit(tol=1e-12)
    assert type(res.solver.hessian).__name__ == "ArrowGram"
    for at in ("overall", {"x": 0.5, "g": "s0003"}):
        ours, theirs = res.marginal_effects(at=at), ref.marginal_effects(at=at)
        assert list(ours.index) == list(theirs.index)
        _close(ours["dy/dx"], theirs["dy/dx"])
        _close(ours["std_err"], theirs["std_err"])


def test_many_level_margins_are_the_exact_delta_method(monkeypatch):
    """300 levels: the average discrete change of each level and the average
    derivative in x equal a direct computation with the twin's dummy columns and
    covariance (the exact gradient), without the design written out."""
    df = frame(5, 3000, 300).rename(columns={"yb": "y"})
    model, dense = twin(FORMULA, df, "bernoulli")
    res = model.fit(tol=1e-12)
    ref = dense.fit(tol=1e-12)
    cov = ref.cov_params().to_numpy()
    beta = ref.params.to_numpy()
    terms = ref.model.formula

    def average(level_rows: pd.DataFrame) -> tuple[float, np.ndarray]:
        x = terms.design(level_rows)[0].to_numpy()
        p = expit(x @ beta)
        return p.mean(), (p * (1 - p)) @ x / len(x)

    data = res.model.data
    _no_dense(monkeypatch)
    ours = res.marginal_effects()
    base, base_grad = average(data.assign(g="s0000"))
    for level in ("s0001", "s0150", "s0299"):
        value, grad = average(data.assign(g=level))
        grad = grad - base_grad
        assert ours.loc[f"g[{level}]", "dy/dx"] == pytest.approx(value - base, rel=1e-10)
        assert ours.loc[f"g[{level}]", "std_err"] == pytest.approx(
            np.sqrt(grad @ cov @ grad), rel=1e-7)
    # d/dx of p(β₀ + β_x x + β_xv x·[h = v] + …): the slope differs by h.
    x = terms.design(data)[0].to_numpy()
    names = list(ref.params.index)
    jx, jxv = names.index("x"), names.index("x:h[T.v]")
    p = expit(x @ beta)
    slope = beta[jx] + beta[jxv] * x[:, jxv] / np.where(x[:, jx] == 0, 1, x[:, jx])
    d, d2 = p * (1 - p), p * (1 - p) * (1 - 2 * p)
    grad = (d2 * slope) @ x / len(x)
    grad[jx] += d.mean()
    grad[jxv] += (d * (data["h"] == "v")).mean()
    assert ours.loc["x", "dy/dx"] == pytest.approx((d * slope).mean(), rel=1e-8)
    assert ours.loc["x", "std_err"] == pytest.approx(np.sqrt(grad @ cov @ grad), rel=1e-7)
    assert len(ours) == 299 + 3


def test_multinomial_margins_on_factor_codes(monkeypatch):
    """A categorical model with a 70-level factor (codes; its information stays
    dense): per-class effects equal the dense twin's, never writing out the design."""
    df = frame(11, 1400, 70).rename(columns={"yc": "y"})
    model, dense = twin("y ~ x + z + g", df, "categorical")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res, ref = model.fit(tol=1e-12), dense.fit(tol=1e-12)
    theirs = ref.marginal_effects()
    _no_dense(monkeypatch)
    ours = res.marginal_effects()
    assert list(ours.index) == list(theirs.index)
    _close(ours["dy/dx"], theirs["dy/dx"])
    _close(ours["std_err"], theirs["std_err"])
    _close(ours["dy/dx"].groupby(level="term").sum(), 0.0)  # the K classes sum to zero


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC0", "HC3", "cluster"])
def test_prediction_se_on_factor_codes_is_the_dense_twins(cov_type, monkeypatch):
    """100 levels (an arrow), an aliased column (x2 = 2x) and an unseen row: the
    prediction errors are quadratic forms with the Schur factor or the arrow
    sandwich, equal to the dense twin's x Cov xᵀ."""
    df = frame(7, 1500, 100).rename(columns={"yp": "y"}).assign(x2=lambda d: 2 * d.x)
    model, dense = twin("y ~ x + x2 + z + g + h", df, "poisson")
    kwargs = {"cov_type": cov_type, "groups": df.cl} if cov_type == "cluster" else {
        "cov_type": cov_type}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res, ref = model.fit(**kwargs), dense.fit(**kwargs)
    assert type(res.solver.hessian).__name__ == "ArrowGram" and "x2" in res.aliased
    new = df.sample(40, random_state=2)
    new.loc[new.index[3], "g"] = np.nan  # a row that cannot be predicted
    theirs = ref.get_prediction(new).summary_frame()
    _no_dense(monkeypatch)
    ours = res.get_prediction(new).summary_frame()
    assert ours.iloc[3].isna().all()
    _close(ours.to_numpy(), theirs.to_numpy())


@pytest.fixture(scope="module")
def huge() -> tuple[pd.DataFrame, ef.GLM]:
    rng = np.random.default_rng(8)
    levels, n = 5200, 15600
    codes = np.concatenate([np.arange(levels), rng.integers(0, levels, n - levels)])
    df = pd.DataFrame({"x": rng.normal(size=n), "cl": rng.integers(0, 300, n),
                       "g": pd.Categorical.from_codes(codes, [f"s{i:04d}" for i in
                                                              range(levels)])})
    df["y"] = rng.poisson(np.exp(0.3 + 0.4 * df.x + rng.normal(0, 0.3, levels)[codes]))
    df.loc[np.unique(codes, return_index=True)[1], "y"] += 1  # no level all zero
    return df, ef.glm("y ~ x + g", df, family="poisson")


def _sparse_design(df: pd.DataFrame) -> sp.csr_matrix:
    """Intercept, x and the treatment dummies of g, as a sparse matrix."""
    n, codes = len(df), df["g"].cat.codes.to_numpy()
    levels = len(df["g"].cat.categories)
    dummies = sp.csr_matrix((np.ones(n), (np.arange(n), codes)), shape=(n, levels))[:, 1:]
    return sp.hstack([sp.csr_matrix(np.column_stack([np.ones(n), df["x"]])), dummies],
                     format="csc")


def test_prediction_se_beyond_5000_coefficients(huge, monkeypatch):
    """5,201 coefficients: the covariance is never formed, yet prediction errors
    (nonrobust: a direct sparse solve of XᵀWX; HC1 and cluster: xᵀVx from the
    sandwich's covariance blocks of the row's three coefficients) are exact, and
    the average effect of x comes with its delta-method error."""
    df, model = huge
    new = df.iloc[[0, 17, 4000, 9000]]
    x_new = _sparse_design(new).toarray()
    res = model.fit(tol=1e-12)
    _no_dense(monkeypatch)
    pred = res.get_prediction(new)
    assert np.isfinite(pred.se_linpred).all()
    x = _sparse_design(df)
    mu = res.fittedvalues.to_numpy()
    info = (x.T @ sp.diags(mu) @ x).tocsc()
    direct = np.einsum("ij,ji->i", x_new, spla.spsolve(info, x_new.T))
    _close(pred.se_linpred**2, direct, 1e-8)
    # Average effect of x in a log-linear model: β_x·mean(μ), gradient
    # β_x·Xᵀμ/n + mean(μ)·e_x.
    me = res.marginal_effects(terms="x")
    beta_x = res.params["x"]
    grad = beta_x * (x.T @ mu) / len(mu)
    grad[1] += mu.mean()
    assert me.loc["x", "dy/dx"] == pytest.approx(beta_x * mu.mean(), rel=1e-10)
    assert me.loc["x", "std_err"] == pytest.approx(
        np.sqrt(grad @ spla.spsolve(info, grad)), rel=1e-8)
    for kwargs in ({"cov_type": "HC1"}, {"cov_type": "cluster", "groups": df.cl}):
        robust = model.fit(tol=1e-12, **kwargs)
        se = robust.get_prediction(new).se_linpred
        for i, row in enumerate(x_new):
            cols = np.flatnonzero(row)
            block = robust.cov_params(columns=list(robust.params.index[cols])).to_numpy()
            assert se[i] ** 2 == pytest.approx(row[cols] @ block @ row[cols], rel=1e-8)
