"""Problems found reviewing the round that added sparse formula columns, robust
covariances by blocks, influence on factor codes and the Dask features.

Each test reproduces one problem at its smallest; the reference is the
in-memory fit of the same data (itself checked against statsmodels and R
elsewhere) or the message the user should see.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import expfam as ef
from expfam.errors import InputError

dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")


@pytest.fixture(autouse=True)
def _sync_scheduler():
    with dask.config.set(scheduler="sync"):
        yield


def _many_levels(seed: int = 6, n: int = 1500, levels: int = 70) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    codes = np.sort(rng.integers(0, levels, n))
    df = pd.DataFrame({"x": rng.normal(size=n), "g": [f"s{c:03d}" for c in codes]})
    df["k"] = rng.poisson(np.exp(0.3 + 0.2 * df.x + (codes % 5) * 0.1))
    return df


def test_dask_unseen_level_error_names_the_row_label() -> None:
    """An unseen level in a later partition of new Dask rows was reported at its
    position inside the partition ("row 1"), not at the frame's row (label 13),
    while the in-memory message names the label."""
    df = _many_levels()
    res = ef.glm("k ~ x + C(g)", dd.from_pandas(df, npartitions=3), family="poisson").fit()
    new = pd.DataFrame({"x": [0.1, 0.2, 0.3, 0.4], "g": ["s001", "s002", "s003", "zzz"]},
                       index=[10, 11, 12, 13])
    with pytest.raises(InputError, match="row labelled 13"):
        res.predict(dd.from_pandas(new, npartitions=2)).compute()
    with pytest.raises(InputError, match="row labelled 13"):
        res.predict(new)


def test_lda_unseen_level_error_names_the_row_label() -> None:
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"x": rng.normal(size=200), "g": rng.choice(["a", "b"], 200),
                       "y": rng.choice(["u", "v"], 200)})
    new = pd.DataFrame({"x": [0.0, 1.0], "g": ["a", "c"]}, index=[40, 41])
    with pytest.raises(InputError, match="row labelled 41"):
        ef.lda("y ~ x + g", df).fit().predict(new)
    gen = ef.lda("y ~ x + g", dd.from_pandas(df, npartitions=2)).fit()
    with pytest.raises(InputError, match="row labelled 41"):
        gen.predict(dd.from_pandas(new, npartitions=2)).compute()


def test_in_memory_fit_refuses_dask_rows_clearly() -> None:
    """An in-memory fit given Dask rows said "exog has dtype object, not numbers;
    convert it with .astype(float)", advice that cannot help."""
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"x": rng.normal(size=100), "g": rng.choice(["a", "b"], 100),
                       "y": rng.choice(["u", "v"], 100)})
    df["b"] = (df.y == "u").astype(float)
    rows = dd.from_pandas(df.head(4), npartitions=2)
    for fit in (ef.logit("b ~ x + g", df).fit(), ef.lda("y ~ x + g", df).fit()):
        with pytest.raises(InputError, match=r"fitted in memory.*compute"):
            fit.predict(rows)


def test_unseen_level_message_is_bounded_for_many_levels() -> None:
    """The message listed every known level: 20,000 stores made a message of
    20,000 names.  It now lists a few and counts the rest."""
    df = _many_levels(levels=400, n=4000)
    res = ef.glm("k ~ x + C(g)", df, family="poisson").fit()
    n_levels = df.g.nunique()
    with pytest.raises(InputError) as info:
        res.predict(pd.DataFrame({"x": [0.0], "g": ["nope"]}))
    message = str(info.value)
    assert f"and {n_levels - 10} more" in message
    assert len(message) < 400


@pytest.mark.parametrize("formula, family, link", [
    ("k ~ x + C(g)", "poisson", None),
    ("k ~ x + C(g)", "negative_binomial", None),
    ("c ~ x + C(g)", "gamma", "log"),
    ("y ~ x + C(g)", "binomial", "probit"),
])
def test_dask_profile_intervals_with_many_levels(formula: str, family: str,
                                                 link: str | None) -> None:
    """A factor of 64 levels or more is an arrow on Dask; its profile intervals
    failed with "float() argument must be ... not 'ArrowGram'".  They must equal
    the in-memory profile intervals (root finding with refits)."""
    rng = np.random.default_rng(9)
    n, levels = 2000, 70
    codes = rng.integers(0, levels, n)
    df = pd.DataFrame({"x": rng.normal(size=n), "g": [f"s{c:03d}" for c in codes]})
    mu = np.exp(0.3 + 0.2 * df.x + (codes % 5) * 0.1)
    df["k"] = rng.negative_binomial(3, 3 / (3 + mu))
    df["c"] = rng.gamma(3.0, mu / 3.0)
    df["y"] = (rng.random(n) < 1 / (1 + np.exp(-(0.3 * df.x + (codes % 3) * 0.3)))).astype(float)
    kw = {"family": family} if link is None else {"family": family, "link": link}
    terms = ["Intercept", "x", "C(g)[T.s003]", "C(g)[T.s069]"]
    on_dask = ef.glm(formula, dd.from_pandas(df, npartitions=3), **kw).fit()
    assert type(on_dask.solver.hessian).__name__ == "ArrowGram"
    got = on_dask.conf_int(method="profile", terms=terms)
    want = ef.glm(formula, df, **kw).fit().conf_int(method="profile", terms=terms)
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-7)


def test_dask_missing_values_name_the_rows() -> None:
    dask = pytest.importorskip("dask")
    dd = pytest.importorskip("dask.dataframe")
    df = pd.DataFrame({"x": np.arange(20.0), "y": np.arange(20) % 2})
    df.loc[[13, 15], "x"] = np.nan
    with dask.config.set(scheduler="sync"), pytest.raises(
            InputError, match=r"'x' in partition 1 \(rows labelled 13, 15\)"):
        ef.logit("y ~ x", dd.from_pandas(df, npartitions=2), missing="raise").fit()
