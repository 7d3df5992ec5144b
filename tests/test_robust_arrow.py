"""Robust and cluster covariances of a many-level factor (the arrow information,
expfam/inference/robust_arrow.py) equal the dense sandwich, R's and a direct
sparse computation, without a p × p matrix."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import expfam as ef
from expfam.errors import DataWarning, InputError
from expfam.inference import cov_blocks

ROBUST = ["HC0", "HC1", "HC2", "HC3", "cluster"]
#: Relative agreement of the arrow's pieces and the dense sandwich: both exact.
EXACT = 1e-10


def _close(a: object, b: object, rtol: float = EXACT) -> None:
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float),
                               rtol=rtol, atol=0)


def _close_cov(a: object, b: object, rtol: float = EXACT) -> None:
    """Covariances equal to ``rtol`` on the correlation scale: |Δ_ij| ≤
    rtol·√(b_ii b_jj), so that a covariance near zero is not held to digits
    below the rounding of its terms."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    sd = np.sqrt(np.diagonal(b))
    _close(np.diagonal(a), np.diagonal(b), rtol)
    assert np.all(np.abs(a - b) <= rtol * np.outer(sd, sd)), np.max(
        np.abs(a - b) / np.outer(sd, sd))


def dense_twin(model: ef.GLM, family: str, link: str | None = None) -> ef.GLM:
    """The same model with the factor written out as dummy columns (a dense
    design, the dense sandwich of expfam/inference/robust.py)."""
    exog = pd.DataFrame(model.exog.dense(), columns=model.exog_names)
    return ef.GLM(model.endog, exog, family=family, link=link, weights=model.weights,
                  offset=model.offset, trials=model.trials)


def factor_frame(seed: int, n: int, levels: int, family: str) -> pd.DataFrame:
    """Numeric x, z, a factor g with ``levels`` levels (at least two rows each,
    every level with both outcomes or a positive count: none separated), a 0/1
    response b, frequency weights w, trials m, an exposure and cluster labels cl
    cutting across the levels."""
    rng = np.random.default_rng(seed)
    codes = np.concatenate([np.tile(np.arange(levels), 2),
                            rng.integers(0, levels, n - 2 * levels)])
    rng.shuffle(codes)
    df = pd.DataFrame({"x": rng.normal(size=n), "z": rng.uniform(-1, 1, n),
                       "g": pd.Categorical.from_codes(codes, [f"s{i:03d}" for i in range(levels)]),
                       "w": rng.integers(1, 4, n).astype(float),
                       "m": rng.integers(1, 6, n).astype(float),
                       "exposure": rng.uniform(0.5, 2.0, n),
                       "cl": rng.integers(0, max(3, levels // 3), n)})
    eta = 0.3 * df.x - 0.4 * df.z + rng.normal(0, 0.4, levels)[codes]
    first = np.unique(codes, return_index=True)[1]
    second = np.unique(codes[::-1], return_index=True)[1]
    second = len(codes) - 1 - second  # the last row of each level, another one
    b = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    b[first], b[second] = 0.0, 1.0
    df["b"] = b
    if family == "binomial":
        df["y"] = rng.binomial(df.m.astype(int), 1 / (1 + np.exp(-eta))).astype(float)
        df.loc[first, "y"] = 1.0  # a success and a failure at every level
        df.loc[first, "m"] = np.maximum(df.m[first], 2.0)
    elif family == "poisson":
        df["y"] = rng.poisson(np.exp(0.5 + eta) * df.exposure).astype(float)
        df.loc[first, "y"] += 1.0
    else:
        df["y"] = 1.0 + eta + rng.normal(0, 1 + 0.5 * np.abs(df.x), n)  # heteroskedastic
    return df


CASES = {
    # name: (formula, family, link, model keyword arguments)
    "bernoulli_weights": ("b ~ x + z + g", "binomial", None, {"weights": "w"}),
    "binomial_trials": ("y ~ x + z + g", "binomial", None, {"trials": "m"}),
    "poisson_offset": ("y ~ x + z + g + offset(np.log(exposure))", "poisson", None,
                       {"weights": "w"}),
    "gaussian": ("y ~ x + z + g", "gaussian", None, {}),
    "probit": ("y ~ x + z + g", "binomial", "probit", {"trials": "m", "weights": "w"}),
    "poisson_sqrt": ("y ~ x + z + g", "poisson", "sqrt", {}),
    "factor_by_numeric": ("y ~ z + g + g:x", "poisson", None, {}),
    "levels_only": ("y ~ 0 + g", "poisson", None, {"weights": "w"}),
}


def _model(case: str, levels: int = 90, n: int = 900, seed: int = 4) -> tuple[ef.GLM, ef.GLM,
                                                                               pd.DataFrame]:
    formula, family, link, kwargs = CASES[case]
    data_family = "binomial" if case == "bernoulli_weights" else family
    df = factor_frame(seed, n, levels, data_family)
    model = ef.glm(formula, df, family=family, link=link, **kwargs)
    return model, dense_twin(model, family, link), df


def _fit(model: ef.GLM, cov_type: str, groups: object, **kwargs: object) -> ef.GLMResults:
    extra = {"groups": groups} if cov_type == "cluster" else {}
    return model.fit(cov_type=cov_type, **extra, **kwargs)


@pytest.mark.parametrize("case", list(CASES))
def test_arrow_sandwich_equals_dense_sandwich(case):
    model, dense, df = _model(case)
    for cov_type in ROBUST:
        res, ref = _fit(model, cov_type, df.cl), _fit(dense, cov_type, df.cl)
        assert res._sandwich is not None  # the arrow's pieces, not the dense path
        np.testing.assert_allclose(res.params, ref.params, rtol=1e-8, atol=1e-10)
        _close(res.bse, ref.bse)
        names = list(res.params.index[:3]) + list(res.params.index[-4:])
        block = res.cov_params(columns=names)
        _close_cov(block, ref.cov_params().loc[names, names])
        _close_cov(res.cov_params(), ref.cov_params())  # below 5,000: from the pieces


@pytest.mark.parametrize("small_sample", ["regress", "ml"])
def test_small_sample_conventions(small_sample):
    model, dense, df = _model("poisson_offset")
    for cov_type in ("HC1", "cluster"):
        res = _fit(model, cov_type, df.cl, small_sample=small_sample)
        _close(res.bse, _fit(dense, cov_type, df.cl, small_sample=small_sample).bse)


def test_observed_information_under_a_non_canonical_link():
    """The observed information of a many-level probit fit is an arrow too: its
    bread and the sandwich's pieces, against the dense observed information."""
    model, dense, df = _model("probit")
    for cov_type in ("nonrobust", "HC1", "HC3", "cluster"):
        res = _fit(model, cov_type, df.cl, information="observed")
        ref = _fit(dense, cov_type, df.cl, information="observed")
        assert type(res.solver.hessian).__name__ == "ArrowGram"
        assert cov_type == "nonrobust" or res._sandwich is not None
        _close(res.bse, ref.bse)
    assert not np.allclose(res.bse, _fit(model, "cluster", df.cl).bse)  # not the expected


def test_few_levels_forced_onto_the_arrow(monkeypatch):
    """30 levels, below ARROW_LEVELS: the threshold lowered puts them on the arrow."""
    monkeypatch.setattr("expfam.design.matrix.ARROW_LEVELS", 8)
    model, dense, df = _model("binomial_trials", levels=30, n=400)
    assert type(model.fit().solver.hessian).__name__ == "ArrowGram"
    for cov_type in ROBUST:
        res = _fit(model, cov_type, df.cl)
        assert res._sandwich is not None
        _close(res.bse, _fit(dense, cov_type, df.cl).bse)


def test_blocks_beyond_the_dense_limit(monkeypatch):
    """Past MAX_DENSE_COV (lowered here) the whole matrix is refused, and bse,
    blocks, intervals, the summary and a Wald test come from the pieces."""
    model, dense, df = _model("poisson_offset")
    hypothesis = "x = z, g[T.s004] = 0"
    refs = {}
    for cov_type in ("HC3", "cluster"):
        ref = _fit(dense, cov_type, df.cl)
        refs[cov_type] = (ref.bse, ref.cov_params(), ref.conf_int(),
                          ref.wald_test(hypothesis).statistic)
    monkeypatch.setattr(cov_blocks, "MAX_DENSE_COV", 40)
    for cov_type, (bse, cov, conf_int, statistic) in refs.items():
        res = _fit(model, cov_type, df.cl)
        with pytest.raises(InputError, match=r"cov_params\(columns="):
            res.cov_params()
        _close(res.bse, bse)
        block = res.cov_params(columns="g[T.s00")
        assert block.shape == (9, 9)
        _close_cov(block, cov.loc[block.index, block.columns])
        _close(res.conf_int(), conf_int)
        assert "g[T.s089]" in str(res.summary())
        _close(res.wald_test(hypothesis).statistic, statistic)
        with pytest.raises(InputError, match="fewer coefficients"):
            res.cov_params(columns="g")


@pytest.mark.filterwarnings("ignore:the design is rank deficient")
def test_aliased_column_on_the_arrow():
    model, _, df = _model("poisson_offset")
    df["x2"] = 2.0 * df.x
    model = ef.glm("y ~ x + x2 + z + g + offset(np.log(exposure))", df, family="poisson",
                   weights="w")
    dense = dense_twin(model, "poisson")
    for cov_type in ("HC1", "HC3", "cluster"):
        res, ref = _fit(model, cov_type, df.cl), _fit(dense, cov_type, df.cl)
        assert res.aliased == ref.aliased == {"x2": ["x"]}
        assert res._sandwich is not None
        assert np.isnan(res.bse["x2"])
        _close(res.bse.drop("x2"), ref.bse.drop("x2"))
        block = res.cov_params(columns=["x", "x2", "g[T.s007]"])
        assert np.isnan(block.loc["x2"]).all()
        _close_cov(block.drop(index="x2", columns="x2"),
               ref.cov_params().loc[["x", "g[T.s007]"], ["x", "g[T.s007]"]])


def test_leverage_one_is_nan_with_a_warning():
    """A level with one row is fitted exactly: HC2 and HC3 are undefined (NaN
    everywhere, as R's sandwich) and the warning names the row."""
    _, _, df = _model("gaussian")
    df = df.copy()
    df["g"] = df.g.cat.add_categories(["lonely"])
    df.loc[17, "g"] = "lonely"
    model = ef.glm("y ~ x + z + g", df, family="gaussian")
    dense = dense_twin(model, "gaussian")
    for cov_type in ("HC2", "HC3"):
        with pytest.warns(DataWarning, match="row 17 has leverage 1"):
            res = model.fit(cov_type=cov_type)
            bse = res.bse
        assert res._sandwich is not None and np.isnan(bse).all()
        with pytest.warns(DataWarning, match="row 17 has leverage 1"):
            assert np.isnan(dense.fit(cov_type=cov_type).bse).all()
    _close(model.fit(cov_type="HC1").bse, dense.fit(cov_type="HC1").bse)


@settings(max_examples=20)
@given(seed=st.integers(0, 2**31), levels=st.integers(3, 12), per_level=st.integers(3, 8),
       family=st.sampled_from(["gaussian", "poisson", "binomial"]),
       cov_type=st.sampled_from(ROBUST), weighted=st.booleans())
def test_property_arrow_sandwich_is_the_dense_one(seed, levels, per_level, family, cov_type,
                                                  weighted):
    df = factor_frame(seed, levels * per_level, levels, family)
    kwargs: dict[str, object] = {"weights": "w"} if weighted else {}
    if family == "binomial":
        kwargs["trials"] = "m"
    with pytest.MonkeyPatch.context() as patch, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        patch.setattr("expfam.design.matrix.ARROW_LEVELS", 2)  # every factor an arrow
        model = ef.glm("y ~ x + z + g", df, family=family, **kwargs)
        dense = dense_twin(model, family)
        try:
            ref = _fit(dense, cov_type, df.cl)
            ref_bse = ref.bse
        except Exception:  # a draw the dense fit refuses (rank, clusters): skip it
            assume(False)
        assume(ref.converged and ref.separation is None and not ref.aliased)
        assume(bool(np.isfinite(ref_bse).all()))
        res = _fit(model, cov_type, df.cl)
        assert res._sandwich is not None
        _close(res.bse, ref_bse, 1e-8)
        names = ["x", "g[T.s001]", "g[T.s002]"]
        _close_cov(res.cov_params(columns=names), ref.cov_params().loc[names, names], 1e-8)


def _direct_variances(res: ef.GLMResults, df: pd.DataFrame, picked: list[int],
                      cov_type: str) -> np.ndarray:
    """The sandwich at ``picked`` from sparse dummy columns and a sparse LU solve
    of the information (no Schur complement): V_S = c·(G H⁻¹ E_S)ᵀ(G H⁻¹ E_S)."""
    codes = df.g.cat.codes.to_numpy()
    n, levels = len(df), len(df.g.cat.categories)
    dummies = sp.csr_matrix((np.ones(n), (np.arange(n), codes)), shape=(n, levels))[:, 1:]
    x = sp.hstack([np.ones((n, 1)), df[["x"]].to_numpy(), dummies]).tocsc()
    mu = np.exp(res.linear_predictor.to_numpy())
    info = (x.T @ sp.diags(mu) @ x).tocsc()
    unit = np.zeros((x.shape[1], len(picked)))
    unit[picked, np.arange(len(picked))] = 1.0
    columns = spla.splu(info).solve(unit)  # H⁻¹ E_S
    scores = x.multiply((df.y.to_numpy() - mu)[:, None]).tocsr()
    if cov_type == "cluster":
        groups = df.cl.to_numpy()
        n_groups = groups.max() + 1
        scores = sp.csr_matrix((np.ones(n), (groups, np.arange(n))), shape=(n_groups, n)) @ (
            scores)
        k = x.shape[1]
        factor = n_groups / (n_groups - 1) * (n - 1) / (n - k)
    else:
        factor = n / (n - x.shape[1])  # HC1
    q = scores @ columns
    return np.asarray(factor * (q.T @ q))


def test_more_than_5000_levels():
    rng = np.random.default_rng(3)
    levels, n = 5100, 10200
    codes = np.concatenate([np.arange(levels), rng.integers(0, levels, n - levels)])
    df = pd.DataFrame({"x": rng.normal(size=n), "cl": rng.integers(0, 400, n),
                       "g": pd.Categorical.from_codes(codes, [f"s{i:04d}" for i in
                                                              range(levels)])})
    df["y"] = rng.poisson(np.exp(0.3 + 0.4 * df.x + rng.normal(0, 0.3, levels)[codes]))
    df.loc[np.unique(codes, return_index=True)[1], "y"] += 1  # no level all zero
    model = ef.glm("y ~ x + g", df, family="poisson")
    picked = [0, 1, 2, 2500, levels]  # intercept, x and three levels
    for cov_type in ("HC1", "cluster"):
        res = _fit(model, cov_type, df.cl)
        assert len(res.params) == levels + 1 and res._sandwich is not None
        bse = res.bse.to_numpy()
        assert np.isfinite(bse).all()
        direct = _direct_variances(res, df, picked, cov_type)
        _close(bse[picked] ** 2, np.diagonal(direct), 1e-8)
        block = res.cov_params(columns=list(res.params.index[picked]))
        _close_cov(block, direct, 1e-8)
        with pytest.raises(InputError, match=r"cov_params\(columns="):
            res.cov_params()


def test_many_level_factor_sandwich_agrees_with_r():
    """300 levels as codes against R's sandwich::vcovHC and vcovCL on dummy
    columns (validation/r/robust_factor_reference.R), 1e-6 relative."""
    from validation.robust_factor_cases import FORMULA, PATH

    results = Path(__file__).parents[1] / "validation" / "r" / "results"
    r_se = pd.read_csv(results / "robust_factor_se.csv", index_col=0)
    r_block = pd.read_csv(results / "robust_factor_block.csv")
    df = pd.read_csv(PATH)
    model = ef.glm(FORMULA, df, family="poisson")
    fits = {"HC0": {"cov_type": "HC0"}, "HC1": {"cov_type": "HC1"},
            "HC2": {"cov_type": "HC2"}, "HC3": {"cov_type": "HC3"},
            "CL_regress": {"cov_type": "cluster", "groups": df.cl},
            "CL_ml": {"cov_type": "cluster", "groups": df.cl, "small_sample": "ml"}}
    for name, kwargs in fits.items():
        res = model.fit(**kwargs)
        assert res._sandwich is not None
        r_names = ["(Intercept)" if n == "Intercept" else n.replace("g[T.", "g").rstrip("]")
                   for n in res.params.index]
        _close(res.params.to_numpy(), r_se.loc[r_names, "estimate"], 1e-6)
        _close(res.bse.to_numpy(), r_se.loc[r_names, f"se_{name}"], 1e-6)
        ours = ["x1", "x2", "g[T.s0001]", "g[T.s0002]"]
        block = res.cov_params(columns=ours).to_numpy()
        expected = r_block[r_block.type == name].pivot(index="row", columns="col",
                                                        values="cov")
        order = ["x1", "x2", "gs0001", "gs0002"]
        _close_cov(block, expected.loc[order, order].to_numpy(), 1e-6)
