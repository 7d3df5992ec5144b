"""Fits on Dask (issue 13): the same numbers as in memory, on a LocalCluster with processes.

Every statistic of a Dask fit must equal the in-memory fit's to 1e-8 relative.
Both sides are fitted to a tight tolerance, so that what is compared is the
estimate, not two solvers' stopping points.
"""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import expfam as ef
from expfam.backend.dask_backend import ClusterError, DaskBackend
from expfam.errors import InputError

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

TOL = 1e-12  # the solvers' tolerance on both sides
RTOL = 1e-8  # the agreement required


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(13)
    n = 4000
    df = pd.DataFrame({
        "x": rng.standard_normal(n), "z": rng.standard_normal(n),
        "g": rng.choice(["b", "a", "c"], n), "w": rng.integers(1, 4, n).astype(float),
        "cl": rng.integers(0, 40, n), "off": rng.normal(0, 0.2, n),
    })
    eta = 0.3 + df.x - 0.5 * df.z + 0.7 * (df.g == "c")
    df["y"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    df["cls"] = np.where(df.y == 1, rng.choice(["u", "v"], n), "t")
    df["cnt"] = rng.poisson(np.exp(0.2 + 0.3 * df.x + df.off))
    df.loc[[5, 900, 3100], "x"] = np.nan  # dropped, in memory and per partition
    return df


def assert_same(dask_res, mem_res, rtol: float = RTOL) -> None:
    """Every statistic of two fits agrees to ``rtol`` relative."""
    for name in ("params", "bse", "zvalues", "pvalues"):
        np.testing.assert_allclose(np.asarray(getattr(dask_res, name)),
                                   np.asarray(getattr(mem_res, name)), rtol=rtol, err_msg=name)
    for name in ("llf", "deviance", "llnull", "null_deviance", "pearson_chi2", "aic", "bic",
                 "nobs", "df_resid", "llr", "scale"):
        np.testing.assert_allclose(getattr(dask_res, name), getattr(mem_res, name), rtol=rtol,
                                   err_msg=name)
    np.testing.assert_allclose(dask_res.cov_params().to_numpy(),
                               mem_res.cov_params().to_numpy(), rtol=rtol, atol=1e-14)
    np.testing.assert_allclose(dask_res.conf_int().to_numpy(), mem_res.conf_int().to_numpy(),
                               rtol=rtol)
    pd.testing.assert_frame_equal(dask_res.summary_frame(), mem_res.summary_frame(),
                                  rtol=rtol)


def test_import_does_not_import_dask() -> None:
    code = ("import sys, expfam; bad = [m for m in sys.modules if m.split('.')[0] in "
            "('dask', 'distributed')]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=".")


def test_logistic_on_dask_arrays(client, frame) -> None:
    df = frame.dropna()
    x = ef.add_constant(df[["x", "z"]]).to_numpy()
    y = df["y"].to_numpy(dtype=float)
    mem = ef.GLM(y, x).fit(tol=TOL)
    res = ef.GLM(da.from_array(y, chunks=1000), da.from_array(x, chunks=(1000, 3))).fit(tol=TOL)
    assert isinstance(res, ef.GLMResults)
    assert res.model.exog_names == mem.model.exog_names == ["const", "x1", "x2"]
    assert_same(res, mem)
    assert res.n_passes == len(res.passes) <= 8
    np.testing.assert_allclose(res.wald_test("x1").statistic, mem.wald_test("x1").statistic,
                               rtol=RTOL)
    # Per-row values are lazy and equal.
    assert isinstance(res.fittedvalues, da.Array)
    np.testing.assert_allclose(res.fittedvalues.compute(), mem.fittedvalues, rtol=RTOL)
    np.testing.assert_allclose(res.resid_deviance.compute(), mem.resid_deviance, rtol=1e-7,
                               atol=1e-12)
    new = da.from_array(x[:500], chunks=250)
    pred = res.predict(new)
    assert isinstance(pred, da.Array)
    np.testing.assert_allclose(pred.compute(), mem.predict(x[:500]), rtol=RTOL)


@pytest.mark.parametrize("cov_type", ["HC1", "HC3"])  # HC0, HC2: the same code paths
def test_robust_covariances_on_a_dask_frame(client, frame, cov_type) -> None:
    ddf = dd.from_pandas(frame, npartitions=3)
    mem = ef.logit("y ~ x + z + C(g)", frame, weights="w").fit(tol=TOL, cov_type=cov_type)
    res = ef.logit("y ~ x + z + C(g)", ddf, weights="w").fit(tol=TOL, cov_type=cov_type)
    assert_same(res, mem)
    assert res.model.n_dropped == mem.model.n_dropped == 3


def test_cluster_covariance_and_lazy_prediction(client, frame) -> None:
    ddf = dd.from_pandas(frame, npartitions=4)
    kept = frame.dropna()
    mem = ef.logit("y ~ x + z + C(g)", kept).fit(tol=TOL, cov_type="cluster",
                                                  groups=kept["cl"])
    res = ef.logit("y ~ x + z + C(g)", ddf).fit(tol=TOL, cov_type="cluster", groups="cl")
    assert_same(res, mem)
    pred = res.predict(ddf)
    assert isinstance(pred, dd.Series)
    np.testing.assert_allclose(pred.compute().to_numpy(), mem.predict(frame).to_numpy(),
                               rtol=RTOL)


def test_poisson_with_offset_from_parquet(client, frame, tmp_path) -> None:
    frame.to_parquet(tmp_path / "data.parquet", row_group_size=1000)
    ddf = dd.read_parquet(tmp_path / "data.parquet", split_row_groups=True)
    mem = ef.glm("cnt ~ x + C(g)", frame, family="poisson", offset="off").fit(tol=TOL)
    res = ef.glm("cnt ~ x + C(g)", ddf, family="poisson", offset="off").fit(tol=TOL)
    assert_same(res, mem)  # the null model is an intercept fit with the offset
    # Columns of a Parquet frame as exog, a column as endog (partitions line up
    # although Dask fuses those of a narrow read).
    mem = ef.GLM(frame["y"], frame[["z", "off"]]).fit(tol=TOL)
    with dask.config.set(scheduler="sync"):
        res = ef.GLM(ddf["y"], ddf[["z", "off"]]).fit(tol=TOL)
    np.testing.assert_allclose(res.bse, mem.bse, rtol=RTOL)


def test_multinomial_and_lda(client, frame) -> None:
    ddf = dd.from_pandas(frame, npartitions=3)
    mem = ef.mnlogit("cls ~ x + z", frame).fit(tol=TOL)
    res = ef.mnlogit("cls ~ x + z", ddf).fit(tol=TOL)
    assert_same(res, mem)
    np.testing.assert_allclose(res.fittedvalues.compute(), mem.fittedvalues.to_numpy(),
                               rtol=RTOL)
    mem_lda = ef.lda("cls ~ x + z + C(g)", frame, shrinkage="ledoit-wolf").fit()
    res_lda = ef.lda("cls ~ x + z + C(g)", ddf, shrinkage="ledoit-wolf").fit()
    np.testing.assert_allclose(res_lda.covariance, mem_lda.covariance, rtol=RTOL)
    np.testing.assert_allclose(res_lda.means, mem_lda.means, rtol=RTOL)
    np.testing.assert_allclose(res_lda.logistic_bse(), mem_lda.logistic_bse(), rtol=RTOL)


def test_unknown_categories_are_found(frame) -> None:
    # Dask's astype("category") leaves the categories unknown: the fit finds them.
    ddf = dd.from_pandas(frame, npartitions=2).astype({"g": "category"})
    with dask.config.set(scheduler="sync"):
        res = ef.logit("y ~ x + C(g)", ddf).fit(tol=TOL)
    mem = ef.logit("y ~ x + C(g)", frame).fit(tol=TOL)
    np.testing.assert_allclose(res.params, mem.params, rtol=RTOL)


def test_bad_partitions_and_levels_are_named(frame) -> None:
    first, second = frame.iloc[:2000], frame.iloc[2000:].drop(columns=["z"])
    ddf = dd.from_delayed([dask.delayed(first), dask.delayed(second)],
                          meta=first.head(0), verify_meta=False)
    with dask.config.set(scheduler="sync"):
        with pytest.raises(InputError, match="partition 1 has columns"):
            ef.logit("y ~ x + z", ddf).fit()
        res = ef.logit("y ~ x + C(g)", dd.from_pandas(frame, npartitions=2)).fit()
        new = dd.from_pandas(frame.assign(g="zz"), npartitions=2)
        with pytest.raises(InputError, match=r"column 'g'.*'zz'"):
            res.predict(new).compute()


def test_nan_in_x_is_named_after_a_non_finite_pass(frame) -> None:
    x = ef.add_constant(frame[["z"]]).to_numpy()
    x[2500, 1] = np.inf
    with dask.config.set(scheduler="sync"), pytest.raises(InputError,
                                                           match=r"partition 1: 'x1'"):
        ef.GLM(da.from_array(frame["y"].to_numpy(dtype=float), chunks=2000),
               da.from_array(x, chunks=(2000, 2))).fit()


def test_a_failed_pass_is_named_and_keeps_the_fit_so_far(frame, monkeypatch) -> None:
    import expfam.engine.solvers.dask_newton as solver

    calls = {"n": 0}
    real = solver.newton_part

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 4:  # the third pass (two partitions each)
            raise ConnectionError("worker lost")
        return real(*args, **kwargs)

    monkeypatch.setattr(solver, "newton_part", flaky)
    df = frame.dropna()
    x = da.from_array(ef.add_constant(df[["x", "z"]]).to_numpy(), chunks=(2000, 3))
    y = da.from_array(df["y"].to_numpy(dtype=float), chunks=2000)
    with dask.config.set(scheduler="sync"), pytest.raises(ClusterError) as caught:
        ef.GLM(y, x).fit()
    err = caught.value
    assert f"pass {err.pass_number} over the data" in str(err) and "worker lost" in str(err)
    assert err.pass_number >= 3
    assert err.partial["coef"] is not None and len(err.partial["history"]) >= 2


def test_backend_sums_in_one_pass() -> None:
    parts = [dask.delayed(np.arange)(i, i + 3) for i in range(5)]
    backend = DaskBackend(parts)
    with dask.config.set(scheduler="sync"):
        total = backend.map_sum(np.sum, what="sums")
    assert total == sum(np.arange(i, i + 3).sum() for i in range(5))
    assert backend.n_passes == 1 and backend.passes == ["sums"]


@settings(max_examples=8, deadline=None)
@given(cuts=st.lists(st.integers(1, 399), max_size=4, unique=True),
       missing=st.lists(st.integers(0, 399), max_size=60))
@example(cuts=[100, 110], missing=list(range(100, 110)))  # a partition left empty
def test_any_partitioning_gives_the_in_memory_fit(cuts, missing) -> None:
    """However the rows are split (partitions emptied by dropped rows included),
    the tree of partition sums gives the in-memory fit."""
    rng = np.random.default_rng(len(cuts) + 7 * len(missing))
    n = 400
    x = ef.add_constant(rng.standard_normal((n, 2)))
    y = rng.poisson(np.exp(0.3 + x[:, 1] * 0.5)).astype(float)
    x[missing, 2] = np.nan
    bounds = [0, *sorted(cuts), n]
    chunks = tuple(int(b - a) for a, b in itertools.pairwise(bounds))
    keep = ~np.isnan(x[:, 2])
    mem = ef.GLM(y[keep], x[keep], family="poisson").fit(tol=TOL, cov_type="HC1")
    with dask.config.set(scheduler="sync"):
        res = ef.GLM(da.from_array(y, chunks=(chunks,)), da.from_array(x, chunks=(chunks, 3)),
                     family="poisson", missing="drop").fit(tol=TOL, cov_type="HC1")
    assert res.model.n_dropped == n - keep.sum()
    for name in ("params", "bse"):
        np.testing.assert_allclose(getattr(res, name), getattr(mem, name), rtol=RTOL)
    for name in ("llf", "deviance", "null_deviance", "pearson_chi2"):
        np.testing.assert_allclose(getattr(res, name), getattr(mem, name), rtol=RTOL)


def test_progress_reports_every_pass(capsys):
    import dask
    import dask.array as da

    rng = np.random.default_rng(0)
    X = np.column_stack([np.ones(4000), rng.normal(size=(4000, 2))])
    y = (rng.random(4000) < 0.4).astype(float)
    with dask.config.set(scheduler="threads"):
        res = ef.GLM(da.from_array(y, chunks=1000), da.from_array(X, chunks=(1000, 3))).fit(
            progress="log")
    err = capsys.readouterr().err
    assert err.count("dask iteration") == res.n_passes - len(res.model._built_passes)
    assert "computed" in err


def test_a_column_offset_is_reread_at_prediction():
    import dask
    import dask.dataframe as dd

    rng = np.random.default_rng(0)
    n = 600
    df = pd.DataFrame({"g": rng.choice(list("abc"), n), "e": rng.uniform(0.5, 3, n)})
    df["lo"] = np.log(df["e"])
    df["y"] = rng.poisson(df["e"] * np.exp(0.3 * (df["g"] == "b"))).astype(float)
    with dask.config.set(scheduler="threads"):
        res = ef.glm("y ~ g", dd.from_pandas(df, npartitions=3), family="poisson",
                     offset="lo").fit()
        fitted = np.asarray(res.fittedvalues)[:3]
    memory = ef.glm("y ~ g", df, family="poisson", offset="lo").fit()
    np.testing.assert_allclose(np.asarray(res.predict(df.head(3))), fitted, rtol=1e-10)
    np.testing.assert_allclose(np.asarray(memory.predict(df.head(3))), fitted, rtol=1e-8)
