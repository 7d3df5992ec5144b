"""Dask fits under every link and family (issue 13): the in-memory numbers to 1e-8.

Non-canonical links (Fisher scoring), the Gamma, inverse Gaussian and negative
binomial families (θ known, and θ estimated by glm.nb's alternation), and the
observed information, each compared statistic by statistic with the in-memory
fit (itself validated against R and statsmodels in test_links.py,
test_negative_binomial.py and test_glm.py), on a LocalCluster with processes.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import expfam as ef
from expfam.errors import NumericalError

dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

TOL = 1e-12  # the solvers' tolerance on both sides
RTOL = 1e-8  # the agreement required


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(13)
    n = 3000
    df = pd.DataFrame({"x": rng.standard_normal(n), "z": rng.standard_normal(n),
                       "g": rng.choice(["b", "a", "c"], n),
                       "w": rng.integers(1, 4, n).astype(float), "off": rng.normal(0, 0.2, n)})
    df["y"] = (rng.random(n) < 1 / (1 + np.exp(-(0.3 + df.x - 0.5 * df.z)))).astype(int)
    df["rare"] = (rng.random(n) < np.exp(-1.6 + 0.2 * df.x - 0.1 * df.z)).astype(int)
    df["cnt"] = rng.poisson(np.exp(0.8 + 0.3 * df.x + df.off))
    df["nb"] = rng.negative_binomial(2, 2 / (2 + np.exp(0.5 + 0.3 * df.x + df.off)))
    df["pos"] = rng.gamma(3.0, np.exp(0.2 + 0.3 * df.x) / 3.0)
    df["ig"] = rng.wald(np.exp(0.1 + 0.2 * df.x), 4.0)
    df.loc[[5, 900], "x"] = np.nan  # dropped, in memory and per partition
    return df


def fit_both(frame, formula, **kwargs):
    fit_kw = {k: kwargs.pop(k) for k in ("information", "cov_type") if k in kwargs}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the same warnings on both sides
        mem = ef.glm(formula, frame, **kwargs).fit(tol=TOL, **fit_kw)
        res = ef.glm(formula, dd.from_pandas(frame, npartitions=3), **kwargs).fit(
            tol=TOL, **fit_kw)
    return res, mem


def assert_same(res, mem, rtol: float = RTOL) -> None:
    for name in ("params", "bse", "zvalues", "pvalues"):
        np.testing.assert_allclose(np.asarray(getattr(res, name)),
                                   np.asarray(getattr(mem, name)), rtol=rtol, err_msg=name)
    for name in ("llf", "deviance", "llnull", "null_deviance", "pearson_chi2", "aic", "bic",
                 "nobs", "df_resid", "scale"):
        np.testing.assert_allclose(getattr(res, name), getattr(mem, name), rtol=rtol,
                                   err_msg=name)
    pd.testing.assert_frame_equal(res.summary_frame(), mem.summary_frame(), rtol=rtol)
    assert res.summary().as_text() == mem.summary().as_text()


@pytest.mark.parametrize(("formula", "family", "link", "extra"), [
    ("y ~ x + z", "binomial", "probit", {}),
    ("y ~ x + z + C(g)", "binomial", "cloglog", {"weights": "w"}),
    ("rare ~ x + z", "binomial", "log", {}),  # the step halving keeps μ ≤ 1
    ("cnt ~ x + C(g)", "poisson", "identity", {}),
    ("cnt ~ x", "poisson", "sqrt", {"information": "observed"}),
    ("pos ~ x + z", "gamma", None, {}),
    ("pos ~ x + z", "gamma", "log", {"weights": "w", "cov_type": "HC1"}),
    ("ig ~ x + z", "inverse_gaussian", None, {}),
    ("nb ~ x", ef.families.NegativeBinomial(2.0), "sqrt", {"offset": "off"}),
])
def test_links_and_families_match_memory(client, frame, formula, family, link, extra) -> None:
    res, mem = fit_both(frame, formula, family=family, link=link, **extra)
    assert_same(res, mem)
    assert res.information == mem.information
    assert res.n_passes == len(res.passes)
    np.testing.assert_allclose(res.fittedvalues.compute(), mem.fittedvalues, rtol=RTOL)


def test_observed_information_costs_one_pass(client, frame) -> None:
    res, mem = fit_both(frame, "y ~ x + z", family="binomial", link="cloglog",
                        information="observed")
    expected, _ = fit_both(frame, "y ~ x + z", family="binomial", link="cloglog")
    assert_same(res, mem)
    assert not np.allclose(res.bse, expected.bse, rtol=1e-6)  # a different matrix
    assert res.passes[-1] == "observed information"
    assert res.n_passes == expected.n_passes + 1


def test_negative_binomial_estimates_theta_as_glm_nb(client, frame) -> None:
    res, mem = fit_both(frame, "nb ~ x + z", family="negative_binomial", offset="off")
    assert_same(res, mem)
    for name in ("theta", "theta_se", "poisson_llf"):
        np.testing.assert_allclose(getattr(res, name), getattr(mem, name), rtol=RTOL,
                                   err_msg=name)
    np.testing.assert_allclose(res.lr_test_poisson().statistic,
                               mem.lr_test_poisson().statistic, rtol=1e-7)
    assert isinstance(res, ef.GLMResults) and hasattr(res, "passes")
    assert res.passes.count("θ's score and information") >= 3
    assert res.model.family.base.theta == res.theta  # the results' model is the GLM at θ̂


def test_negative_binomial_model_keeps_theta_unknown(frame) -> None:
    model = ef.glm("nb ~ x", dd.from_pandas(frame, npartitions=2), family="negative_binomial")
    with dask.config.set(scheduler="sync"):
        first = model.fit()
        second = model.fit()  # estimates θ again
    assert not model.family.base.theta_known
    assert first.theta == second.theta


def test_a_fit_beyond_the_range_is_refused_as_in_memory(frame) -> None:
    ddf = dd.from_pandas(frame, npartitions=3)
    with dask.config.set(scheduler="sync"), pytest.raises(NumericalError,
                                                           match="edge of the binomial"):
        ef.glm("y ~ x + z", ddf, family="binomial", link="log").fit()


@pytest.mark.parametrize(("formula", "family", "link"), [
    ("y ~ x + z + C(g)", "bernoulli", None),
    ("pos ~ x + z", "gamma", "log"),  # t-scaled profile (an estimated dispersion)
    ("cnt ~ x", "poisson", "identity"),  # Newton steps on the observed Hessian
])
def test_profile_intervals_in_a_few_passes(client, frame, formula, family, link) -> None:
    res, mem = fit_both(frame, formula, family=family, link=link)
    before = res.n_passes
    got = res.conf_int(method="profile")
    want = mem.conf_int(method="profile")
    # In memory each end is a root found to 1e-10 standard errors.
    se = mem.bse.to_numpy()[:, None]
    gap = np.abs(got.to_numpy() - want.to_numpy())
    assert np.all(gap <= RTOL * np.abs(want.to_numpy()) + 1e-9 * se), gap
    assert list(got.index) == list(want.index) and list(got.columns) == list(want.columns)
    used = res.n_passes - before
    assert 1 <= used <= 8 and res.passes[-used:] == [p for p in res.passes[-used:]
                                                     if p.startswith("profile endpoints")]
    part = res.conf_int(method="profile", terms=["x"])
    np.testing.assert_allclose(part.to_numpy(), want.loc[["x"]].to_numpy(), rtol=RTOL)


def test_profile_root_finding_fallback(frame, monkeypatch) -> None:
    """An endpoint whose Newton iteration fails is found as in memory, by root
    finding with a Dask refit per profile point."""
    import expfam.inference.dask_profile as profile

    monkeypatch.setattr(profile, "MAX_STEPS", 0)
    kept = frame.dropna().iloc[:600]
    mem = ef.glm("y ~ x", kept, family="bernoulli").fit(tol=TOL)
    with dask.config.set(scheduler="sync"):
        res = ef.glm("y ~ x", dd.from_pandas(kept, npartitions=2),
                     family="bernoulli").fit(tol=TOL)
        got = res.conf_int(method="profile", terms="x")
    np.testing.assert_allclose(got.to_numpy(), mem.conf_int(method="profile").loc[["x"]],
                               rtol=1e-7)


def test_profile_refusals(frame) -> None:
    with dask.config.set(scheduler="sync"):
        res = ef.glm("y ~ x", dd.from_pandas(frame, npartitions=2), family="bernoulli").fit()
        with pytest.raises(ef.errors.InputError, match="'w' is not a coefficient"):
            res.conf_int(method="profile", terms="w")
        # Wald intervals take terms= too (R's parm), as in memory.
        pd.testing.assert_frame_equal(res.conf_int(terms="x"), res.conf_int().loc[["x"]])


def test_lda_predicts_dask_rows_lazily(client, frame) -> None:
    ddf = dd.from_pandas(frame, npartitions=3)
    mem = ef.lda("g ~ x + z", frame).fit()
    res = ef.lda("g ~ x + z", ddf).fit()
    proba = res.predict_proba(ddf)
    assert isinstance(proba, dd.DataFrame)
    np.testing.assert_allclose(proba.compute().to_numpy(), mem.predict_proba(frame).to_numpy(),
                               rtol=RTOL)
    np.testing.assert_allclose(res.decision_function(ddf).compute().to_numpy(),
                               mem.decision_function(frame).to_numpy(), rtol=RTOL)
    labels = res.predict(ddf, priors=[0.2, 0.3, 0.5]).compute()
    want = mem.predict(frame, priors=[0.2, 0.3, 0.5])
    pd.testing.assert_series_equal(labels, want, check_dtype=False)
    assert labels.isna().sum() == 2  # the rows with a missing x
    # Dask arrays of features, for a model fitted on Dask arrays.
    da = pytest.importorskip("dask.array")
    kept = frame.dropna()
    x, y = kept[["x", "z"]].to_numpy(), kept["g"].to_numpy()
    fitted = ef.LDA(da.from_array(y, chunks=1000), da.from_array(x, chunks=(1000, 2))).fit()
    two = ef.LDA(y, x).fit()
    new = da.from_array(x, chunks=(700, 2))
    np.testing.assert_allclose(fitted.predict_proba(new).compute(),
                               two.predict_proba(x).to_numpy(), rtol=RTOL)
    assert list(fitted.predict(new).compute()) == list(two.predict(x))


@pytest.mark.parametrize(("formula", "family", "link", "extra"), [
    ("pos ~ x + C(k)", "gamma", "log", {"information": "observed"}),
    ("ig ~ x + C(k)", "inverse_gaussian", None, {}),
    ("cnt ~ x + C(k)", "poisson", "sqrt", {"information": "observed"}),
])
def test_links_on_factor_codes_match_memory(frame, formula, family, link, extra) -> None:
    """Partitions holding factor codes (80 levels: the information is an arrow, solved
    by the Schur complement) under non-canonical links and the observed information."""
    df = frame.assign(k=np.arange(len(frame)) % 80)
    with dask.config.set(scheduler="sync"):
        res, mem = fit_both(df, formula, family=family, link=link, **extra)
    assert_same(res, mem)
    assert type(res.solver.hessian).__name__ == "ArrowGram"
