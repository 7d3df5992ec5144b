"""Formula designs with sparse parts give the dense design's fit, and stay sparse."""

from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import statsmodels.api as sm
import statsmodels.formula.api as smf
from hypothesis import given, settings
from hypothesis import strategies as st

import expfam as ef
from expfam.design.formula import model_frame
from expfam.design.matrix import StructuredDesign
from expfam.design.parts import SparseColumns
from expfam.design.sparse_columns import SPARSE_MIN_ROWS
from expfam.errors import InputError

FAMILIES = ["bernoulli", "poisson", "gaussian", "gamma", "categorical"]
FORMULA = "y ~ x + z1 + z2 + s + d + I(x * z1) + C(g):x + g"
RTOL = 1e-8


def sparse_frame(seed: int, n: int, density: float, family: str) -> pd.DataFrame:
    """Dense x, a factor g, mostly-zero dense columns z1, z2, a zero-filled sparse
    float column s and a sparse boolean column d (as pd.get_dummies(sparse=True))."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"x": rng.normal(size=n),
                       "g": np.array(list("abc"))[rng.integers(0, 3, n)]})
    for name in ("z1", "z2"):
        df[name] = np.where(rng.random(n) < density, rng.normal(1, 1, n), 0.0)
    s = np.where(rng.random(n) < 2 * density, rng.normal(size=n), 0.0)
    df["s"] = pd.arrays.SparseArray(s, fill_value=0.0)
    df["d"] = pd.arrays.SparseArray(rng.random(n) < 0.3, fill_value=False)
    eta = 0.3 * df.x + 0.5 * df.z1 - 0.4 * df.z2 + 0.3 * s + 0.2 * np.asarray(df.d)
    if family == "bernoulli":
        df["y"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    elif family == "poisson":
        df["y"] = rng.poisson(np.exp(eta)).astype(float)
    elif family == "gaussian":
        df["y"] = eta + rng.normal(size=n)
    elif family == "gamma":
        df["y"] = rng.gamma(2.0, np.exp(eta) / 2.0)
    else:
        df["y"] = np.array(["p", "q", "r"])[rng.integers(0, 3, n)]
    return df


def densified(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.SparseDtype):
            out[column] = out[column].sparse.to_dense()
    return out


def fit(formula: str, df: pd.DataFrame, family: str, **kw: object) -> ef.GLMResults:
    link = {"gamma": "log"}.get(family)
    return ef.glm(formula, df, family=family, link=link, **kw).fit()


def sparse_columns(res: ef.GLMResults) -> list[str]:
    exog = res.model.exog
    if not isinstance(exog, StructuredDesign):
        return []
    names = res.model.exog_names
    return sorted(names[j] for part, cols in zip(exog.parts, exog.columns, strict=True)
                  if isinstance(part, SparseColumns) for j in cols)


def close(a: object, b: object, rtol: float = RTOL) -> None:
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float),
                               rtol=rtol, atol=rtol * 1e-2)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), family=st.sampled_from(FAMILIES),
       n=st.integers(SPARSE_MIN_ROWS, SPARSE_MIN_ROWS + 400),
       density=st.floats(0.03, 0.07))  # >= 30 non-zeros: no separated column
def test_sparse_parts_equal_dense_fit(seed, family, n, density):
    df = sparse_frame(seed, n, density, family)
    dense_df = densified(df)
    res = fit(FORMULA, df, family)
    ref = fit(FORMULA, dense_df, family, sparse_threshold=None)
    held = sparse_columns(res)
    assert {"z1", "z2", "s", "d[T.True]", "I(x * z1)"} <= set(held)
    assert sparse_columns(ref) == []
    assert res.model.exog_names == ref.model.exog_names
    close(res.params, ref.params)
    close(res.bse, ref.bse)
    close(res.llf, ref.llf)
    close(res.fittedvalues, ref.fittedvalues)
    robust = res.model.fit(cov_type="HC1")
    close(robust.bse, ref.model.fit(cov_type="HC1").bse)
    new = sparse_frame(seed + 1, 50, 0.5, family)  # other zeros: the same layout
    close(res.predict(new), ref.predict(densified(new)))
    if family != "categorical":
        close(res.get_prediction(new).summary_frame(),
              ref.get_prediction(densified(new)).summary_frame())


def test_layout_is_kept_for_new_rows():
    df = sparse_frame(0, 2_000, 0.02, "bernoulli")
    res = fit(FORMULA, df, "bernoulli")
    new = densified(sparse_frame(5, 30, 0.9, "bernoulli"))  # dense new columns, few zeros
    built, valid = res.model.formula.structured_design(new)
    assert valid.all()
    assert [type(p) for p in built.parts] == [type(p) for p in res.model.exog.parts]
    for a, b in zip(built.columns, res.model.exog.columns, strict=True):
        np.testing.assert_array_equal(a, b)


def test_marginal_effects_and_influence_equal_dense():
    df = sparse_frame(3, 1_500, 0.03, "poisson")
    res = fit("y ~ x + z1 + s + d", df, "poisson")
    ref = fit("y ~ x + z1 + s + d", densified(df), "poisson", sparse_threshold=None)
    assert sparse_columns(res) == ["d[T.True]", "s", "z1"]
    close(res.marginal_effects().to_numpy(), ref.marginal_effects().to_numpy(), 1e-7)
    close(res.get_influence().hat_matrix_diag, ref.get_influence().hat_matrix_diag)
    close(res.get_influence().cooks_distance, ref.get_influence().cooks_distance)


@pytest.mark.parametrize("family", ["bernoulli", "poisson", "gaussian"])
def test_against_statsmodels(family):
    df = densified(sparse_frame(11, 3_000, 0.03, family))
    df["d"] = df["d"].astype(float)
    formula = "y ~ x + z1 + z2 + s + d + I(x * z1) + C(g)"
    res = fit(formula, df, family)
    assert {"z1", "z2", "s", "I(x * z1)"} <= set(sparse_columns(res))
    sm_family = {"bernoulli": sm.families.Binomial(), "poisson": sm.families.Poisson(),
                 "gaussian": sm.families.Gaussian()}[family]
    # statsmodels' default stop (1e-8 on the deviance) leaves 1e-6 in some SEs.
    ref = smf.glm(formula, df, family=sm_family).fit(tol=1e-13)
    names = list(ref.params.index)
    close(res.params[names], ref.params)
    close(res.bse[names], ref.bse)
    close(res.llf, ref.llf)
    robust = smf.glm(formula, df, family=sm_family).fit(cov_type="HC0", tol=1e-13)
    close(res.model.fit(cov_type="HC0").bse[names], robust.bse)
    close(res.predict(df.head(20)), ref.predict(df.head(20)))


def test_threshold_rule():
    df = sparse_frame(1, 2_000, 0.02, "bernoulli")
    assert sparse_columns(fit("y ~ x + z1", df, "bernoulli")) == ["z1"]
    # Turned off: the mostly-zero column stays dense, a pandas sparse column does not.
    for off in (None, 0):
        assert sparse_columns(fit("y ~ x + z1", df, "bernoulli",
                                  sparse_threshold=off)) == []
        assert sparse_columns(fit("y ~ z1 + s", df, "bernoulli",
                                  sparse_threshold=off)) == ["s"]
    # A column with non-zeros in more than the threshold's share stays dense.
    assert sparse_columns(fit("y ~ x + z1", df, "bernoulli", sparse_threshold=0.01)) == []
    # Small designs keep their dense columns.
    small = df.head(SPARSE_MIN_ROWS - 1)
    assert not isinstance(ef.logit("y ~ x + z1", small).exog, StructuredDesign)
    with pytest.raises(InputError, match="sparse_threshold"):
        ef.logit("y ~ x + z1", df, sparse_threshold=1.5)
    with pytest.raises(InputError, match="sparse_threshold"):
        ef.mnlogit("g ~ x + z1", df, sparse_threshold="yes")


def test_sparse_columns_are_never_densified():
    n, k = 200_000, 60
    X = sp.random(n, k, density=0.005, format="csc", random_state=2, data_rvs=np.ones)
    df = pd.DataFrame.sparse.from_spmatrix(X, columns=[f"w{j}" for j in range(k)])
    rng = np.random.default_rng(2)
    df["y"] = (rng.random(n) < 0.3).astype(float)
    formula = "y ~ " + " + ".join(f"w{j}" for j in range(k))
    tracemalloc.start()
    model = ef.logit(formula, df)
    res = model.fit()
    res.predict(df.iloc[:, :k])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    dense_bytes = n * k * 8  # 96 MB: one dense copy of the columns
    assert peak < dense_bytes / 4, peak
    assert sparse_columns(res) == sorted(f"w{j}" for j in range(k))
    ref = ef.GLM(df["y"].to_numpy(), sp.hstack([np.ones((n, 1)), X]).tocsr()).fit()
    close(res.params.to_numpy(), ref.params.to_numpy(), 1e-7)


def test_nan_in_a_sparse_column():
    df = sparse_frame(4, 1_200, 0.05, "bernoulli")
    s = np.asarray(df["s"]).copy()
    s[[7, 100]] = np.nan
    df["s"] = pd.arrays.SparseArray(s, fill_value=0.0)
    with pytest.raises(InputError, match=r"'s' \(2 rows\)"):
        ef.logit("y ~ x + s", df, missing="raise")
    res = ef.logit("y ~ x + s", df).fit()
    assert res.model.n_dropped == 2
    ref = fit("y ~ x + s", densified(df).drop(index=[7, 100]), "bernoulli")
    close(res.params, ref.params)
    close(res.bse, ref.bse)
    # New rows with NaN in the sparse column are unpredictable, as any missing value.
    pred = res.predict(df.iloc[:10])
    assert np.isnan(pred.iloc[7]) and np.isfinite(pred.drop(index=7)).all()
    # The array path refuses a CSR matrix with NaN, naming where.
    X = sp.csr_matrix(np.column_stack([np.ones(len(s)), np.nan_to_num(s, nan=0.0)]))
    X.data[X.data == 0] = 0.0
    bad = X.tolil()
    bad[7, 1] = np.nan
    with pytest.raises(InputError, match="NaN"):
        ef.GLM(df["y"], bad.tocsr())


def test_sparse_boolean_column_with_one_level_is_reported():
    df = sparse_frame(6, 1_200, 0.05, "bernoulli")
    df["d"] = pd.arrays.SparseArray(np.zeros(len(df), dtype=bool), fill_value=False)
    with pytest.raises(InputError, match="single level"):
        ef.logit("y ~ x + d", df)


def test_dense_fallback_for_stateful_transforms():
    df = sparse_frame(8, 1_200, 0.05, "bernoulli")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = ef.logit("y ~ center(x) + s + d", df).fit()
    ref = fit("y ~ center(x) + s + d", densified(df), "bernoulli")
    assert res.model.exog_names == ref.model.exog_names
    close(res.params, ref.params)


def test_model_frame_default_is_dense():
    df = sparse_frame(9, 1_500, 0.02, "bernoulli")
    frame = model_frame("y ~ x + z1", df, structured=True)
    assert not isinstance(frame.exog, StructuredDesign)


def test_cli_saved_model_of_a_sparse_fit(tmp_path):
    """The CLI's saved model rebuilds the columns densely from the formula: its
    predictions are the fit's, whatever parts the fit held sparse."""
    from expfam.cli import main

    df = densified(sparse_frame(12, 1_500, 0.03, "bernoulli"))
    df["d"] = df["d"].astype(float)
    df.to_csv(tmp_path / "train.csv", index=False)
    formula = "y ~ x + z1 + s + I(x * z1) + g"
    res = ef.logit(formula, df).fit()
    assert {"z1", "s", "I(x * z1)"} <= set(sparse_columns(res))
    model = tmp_path / "model.json"
    assert main(["fit", formula, "--data", str(tmp_path / "train.csv"), "--save",
                 str(model), "-o", str(tmp_path / "summary.txt")]) == 0
    new = df.sample(40, random_state=3)
    new.to_csv(tmp_path / "new.csv", index=False)
    assert main(["predict", str(model), "--data", str(tmp_path / "new.csv"), "-o",
                 str(tmp_path / "pred.csv")]) == 0
    got = pd.read_csv(tmp_path / "pred.csv", index_col=0)
    np.testing.assert_allclose(got.to_numpy().squeeze(),
                               np.asarray(res.predict(new.reset_index(drop=True))),
                               rtol=1e-12)
