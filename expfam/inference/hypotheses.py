"""Tests and intervals beyond the coefficient table: Wald tests of linear
restrictions or whole terms, likelihood-ratio tests of nested fits, and
profile-likelihood confidence intervals (as R's ``confint`` for ``glm``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import optimize, stats

from expfam.design.matrix import StructuredDesign, as_matrix, is_structured
from expfam.engine.problem import GLMProblem
from expfam.engine.solvers import firth, irls
from expfam.errors import InputError, RankDeficientError, describe_levels
from expfam.inference.cov_blocks import covariance_block
from expfam.inference.hypothesis_text import parse_hypotheses

#: Designs (rows × columns) up to this size are checked for nesting in lr_test
#: when one of them is structured (its factors are written out for the check).
NESTING_CHECK_SIZE = 20_000_000

if TYPE_CHECKING:
    from expfam.inference.results import GLMResults

__all__ = ["TestResult", "lr_test", "profile_conf_int", "wald_test"]


@dataclass(frozen=True)
class TestResult:
    """A χ² test (or, with an estimated dispersion, an F test): its statistic,
    degrees of freedom and p-value; ``df_denom`` is the F test's denominator."""

    test: str
    statistic: float
    df: float
    pvalue: float
    hypothesis: str
    df_denom: float | None = None

    @property
    def distribution(self) -> str:
        """``"chi2"`` or ``"F"``."""
        return "chi2" if self.df_denom is None else "F"

    def __repr__(self) -> str:
        df = f"{self.df:g}" if self.df_denom is None else f"{self.df:g}, {self.df_denom:g}"
        return (f"<{self.test} test of {self.hypothesis}: {self.distribution} = "
                f"{self.statistic:.6g}, df = {df}, p = {self.pvalue:.4g}>")


def _restriction(res: GLMResults, what: Any) -> tuple[np.ndarray, np.ndarray, str]:
    """R and q of R·β = q from a term name, column names or (R[, q])."""
    index = [str(i) if not isinstance(i, tuple) else f"{i[0]}: {i[1]}"
             for i in res._layout.flat_index]
    k = len(index)
    terms = res.model.formula.spec.term_indices if res.model.formula is not None else {}
    by_term = {str(t): cols for t, cols in terms.items()}
    if isinstance(what, str) and "=" in what:  # "x1 = x2, x3 = 0"
        r, q = parse_hypotheses(what, index)
        return r, q, what
    if isinstance(what, str):
        what = [what]
    if isinstance(what, (list, tuple)) and all(isinstance(w, str) for w in what):
        p = len(res.model.exog_names)
        m = k // p
        positions: list[int] = []
        for name in what:
            if name in by_term:
                cols = by_term[name]
            elif name in res.model.exog_names:
                cols = [res.model.exog_names.index(name)]
            else:
                raise InputError(f"{name!r} is neither a term nor a coefficient; terms: "
                                 f"{', '.join(by_term) or '-'}; coefficients: "
                                 f"{', '.join(res.model.exog_names)}")
            positions += [c * 1 + cls * p for cls in range(m) for c in cols]
        r = np.eye(k)[sorted(set(positions))]
        return r, np.zeros(len(r)), " and ".join(what) + " = 0"
    if isinstance(what, tuple) and len(what) == 2:
        r, q = np.atleast_2d(np.asarray(what[0], float)), np.asarray(what[1], float).ravel()
    else:
        r = np.atleast_2d(np.asarray(what, dtype=float))
        q = np.zeros(r.shape[0])
    if r.shape[1] != k or q.shape != (r.shape[0],):
        raise InputError(f"a restriction matrix needs {k} columns ({', '.join(index)}) and "
                         f"one q per row; got R {r.shape} and q {q.shape}")
    return r, q, f"R·β = q ({r.shape[0]} restriction(s))"


def wald_test(res: GLMResults, restriction: Any) -> TestResult:
    """Wald χ² test of R·β = q with the fit's covariance (robust if ``cov_type`` is);
    an F test on (df, df_resid) for a Gaussian model's estimated dispersion.

    ``restriction`` is a term of the formula (``"C(cyl)"``: all its coefficients,
    for every class of a multinomial model), a coefficient name, a list of
    those, equations of coefficient names (``"x1 = x2, x3 = 0"``, ``"2*x1 - x2 =
    1"``; see :mod:`expfam.inference.hypothesis_text`), a matrix R (testing
    R·β = 0) or a pair (R, q).
    """
    r, q, text = _restriction(res, restriction)
    if r.shape[0] == 0:
        raise InputError("no restriction to test")
    kept = res._kept
    if np.any(r[:, ~kept] != 0):
        raise InputError(f"the restriction involves aliased coefficients "
                         f"({', '.join(res.aliased)}), which are not estimable")
    # Only the coefficients the restriction involves: a block of the covariance,
    # so that a few coefficients of a many-level model are testable.
    used = np.flatnonzero(kept & np.any(r != 0, axis=0))
    r = r[:, used]
    beta = res._problem.flat(res.solver.coef)[used]
    diff = r @ beta - q
    middle = r @ covariance_block(res, used) @ r.T
    try:
        statistic = float(diff @ np.linalg.solve(middle, diff))
    except np.linalg.LinAlgError:
        raise InputError("the restrictions are linearly dependent; drop redundant rows "
                         "of R") from None
    df = float(np.linalg.matrix_rank(r))
    if res.use_t:
        # An estimated dispersion: the F test on (df, df_resid), as R's anova and
        # statsmodels' wald_test for least squares (the t test when df = 1), with
        # a robust covariance too, as the t-based p-values of the coefficients.
        f = statistic / df
        return TestResult("Wald", f, df, float(stats.f.sf(f, df, res.df_resid)), text,
                          df_denom=float(res.df_resid))
    return TestResult("Wald", statistic, df, float(stats.chi2.sf(statistic, df)), text)


def lr_test(restricted: GLMResults, full: GLMResults) -> TestResult:
    """Likelihood-ratio χ² test of a restricted fit against a fuller one.

    The two must be the same family and link on the same rows (same response,
    weights and trials), and the restricted design must lie in the span of the
    full one.  Two negative binomial fits that estimate θ may have different θ̂.

    With an estimated dispersion (Gaussian, Gamma, inverse Gaussian) the
    statistic is 2·(llf_full − llf_restricted), each log-likelihood at its own
    dispersion deviance/n, as ``lmtest::lrtest`` computes it; R's
    ``anova(m0, m1, test="Chisq")`` instead divides the change in deviance by
    the full model's dispersion φ̂ — that is :func:`expfam.anova`'s test.
    """
    a, b = restricted.model, full.model
    if restricted.quasi or full.quasi:
        raise InputError("a quasi-likelihood fit (fit(scale=...)) has no likelihood to "
                         "compare; use ef.anova(restricted, full), whose F test uses the "
                         "dispersion")
    # Negative binomial fits that estimate θ each have their own θ̂; the test
    # compares their profile likelihoods (as R's anova for glm.nb fits).
    both_theta = all(getattr(r, "theta", None) is not None for r in (restricted, full))
    if a.family != b.family and not (both_theta and a.family.link_name == b.family.link_name):
        raise InputError(f"the fits use different families ({a.family.name}, "
                         f"{b.family.name}); a likelihood-ratio test needs one")
    if restricted.solver.penalized_loss is not None or full.solver.penalized_loss is not None:
        raise InputError("lr_test compares maximum-likelihood fits; a Firth fit's likelihood "
                         "is penalized (compare them with profile intervals instead)")
    offsets = [np.zeros(1) if m.offset is None else np.asarray(m.offset) for m in (a, b)]
    if not (offsets[0].shape == offsets[1].shape and np.array_equal(offsets[0], offsets[1])
            ) and not (
            a.offset is None and b.offset is None):
        raise InputError("the fits have different offsets; a likelihood-ratio test needs the "
                         "same offset in both")
    same_rows = (a.exog.shape[0] == b.exog.shape[0]
                 and np.array_equal(restricted._problem.target, full._problem.target)
                 and np.array_equal(restricted._problem.weights, full._problem.weights))
    if not same_rows:
        raise InputError("the fits are not on the same rows (response, weights or trials "
                         "differ, or missing values dropped different rows); refit both on "
                         "the same data")
    df = float(full.n_params - restricted.n_params)
    if df <= 0:
        raise InputError("the 'full' fit has no more coefficients than the restricted one; "
                         "pass lr_test(restricted, full)")
    if max(a.exog.shape[0] * a.exog.shape[1], b.exog.shape[0] * b.exog.shape[1]) > (
            NESTING_CHECK_SIZE) and (is_structured(a.exog) or is_structured(b.exog)):
        # Too large to write out a factor's columns for the check: trust the caller.
        statistic = max(2.0 * (full.llf - restricted.llf), 0.0)
        return TestResult("likelihood-ratio", statistic, df,
                          float(stats.chi2.sf(statistic, df)), "the restricted model")
    x_full = as_matrix(b.exog)
    x_small = as_matrix(a.exog)
    coef, *_ = np.linalg.lstsq(x_full, x_small, rcond=None)
    residual = np.abs(x_small - x_full @ coef).max() if x_small.size else 0.0
    if residual > 1e-8 * max(1.0, float(np.abs(x_small).max(initial=0.0))):
        raise InputError("the restricted model is not nested in the full one: its design "
                         "is not in the span of the full design")
    statistic = max(2.0 * (full.llf - restricted.llf), 0.0)
    return TestResult("likelihood-ratio", statistic, df, float(stats.chi2.sf(statistic, df)),
                      "the restricted model")


def chosen_terms(names: Sequence[str], terms: ArrayLike | None) -> list[str]:
    """The coefficient labels ``terms`` names (one label or several; None: every
    one of ``names``), checked: an unknown label is an error listing the others."""
    wanted = list(names) if terms is None else [str(t) for t in np.atleast_1d(terms)]
    unknown = [t for t in wanted if t not in names]
    if unknown:
        raise InputError(f"{', '.join(map(repr, unknown))} is not a coefficient; they are "
                         f"{describe_levels(list(names))}")
    return wanted


def profile_conf_int(res: GLMResults, alpha: float = 0.05,
                     terms: ArrayLike | None = None) -> pd.DataFrame:
    """Profile-likelihood confidence intervals, as R's ``confint`` for ``glm``.

    The interval for β_j holds the values b at which the deviance of the fit
    with β_j fixed at b (the others re-estimated) exceeds the minimum by at
    most χ²₁(1 − α); each end is found by root finding (R interpolates a spline
    through a grid of profile points, so the two agree to about 1e-4).  For a
    Firth fit the profile is of the penalized likelihood (as R's ``logistf``).
    """
    if res.model.classes is not None:
        raise InputError("profile intervals are for single-response families; use "
                         "conf_int() (Wald) for a categorical model")
    firth_fit = res.solver.penalized_loss is not None
    if not firth_fit and res.separation is not None and res.separation.separated:
        raise InputError("the outcomes are separated, so the estimates do not exist and the "
                         "profile likelihood has no finite ends; fit with penalty='firth'")
    all_names = res.model.exog_names
    wanted = chosen_terms(all_names, terms)
    # Aliased columns are not estimable: profile the others on the reduced design.
    kept = np.flatnonzero(res._kept)
    exog = res._problem.exog
    problem = dataclasses.replace(res._problem, exog=exog.select_columns(kept) if isinstance(
        exog, StructuredDesign) else np.asarray(exog)[:, kept])
    names = [all_names[k] for k in kept]
    beta, bse = res.solver.coef[kept], res.bse.to_numpy()[kept]
    limit = stats.chi2.isf(alpha, 1)
    rows = {name: [np.nan, np.nan] for name in wanted if name not in names}
    for name in (n for n in wanted if n in names):
        j = names.index(name)
        if firth_fit:
            assert res.solver.penalized_loss is not None
            profile = _penalized_profile(problem, beta, j, res.solver.penalized_loss)
        else:
            profile = _profile(problem, beta, j, res.solver.loss, res.scale)
        rows[name] = [_end(profile, beta[j], bse[j], side, limit) for side in (-1.0, 1.0)]
    table = pd.DataFrame.from_dict(rows, orient="index", columns=["lower", "upper"])
    return table.loc[wanted]


def _profile(problem: GLMProblem, beta: np.ndarray, j: int, loss_min: float,
             scale: float = 1.0) -> Callable[[float], float]:
    """b ↦ twice the loss gain with β_j fixed at b (the column moves to the offset),
    over the dispersion (the scaled deviance, as R's ``profile.glm``)."""
    others = [c for c in range(problem.n_features) if c != j]
    exog = problem.exog
    if isinstance(exog, StructuredDesign):
        x_j = exog.select_columns(np.array([j])).dense()[:, 0]
        reduced: np.ndarray | StructuredDesign = exog.select_columns(np.array(others))
    else:
        x_j = np.asarray(exog[:, j], dtype=float)
        reduced = np.asarray(exog[:, others], dtype=float)
    base = np.zeros(problem.n_obs) if problem.offset is None else problem.offset

    def gain(b: float) -> float:
        sub = GLMProblem(reduced, problem.target, problem.weights, base + b * x_j,
                         problem.family)
        return 2.0 * (irls(sub, start=beta[others]).loss - loss_min) / scale

    return gain


def _penalized_profile(problem: GLMProblem, beta: np.ndarray, j: int,
                       loss_min: float) -> Callable[[float], float]:
    """The same for Firth's penalized loss, whose penalty needs every column."""
    def gain(b: float) -> float:
        start = beta.copy()
        start[j] = b
        fit = firth(problem, start=start, fixed=[j])
        assert fit.penalized_loss is not None
        return 2.0 * (fit.penalized_loss - loss_min)

    return gain


def _end(profile: Callable[[float], float], estimate: float, se: float, side: float,
         limit: float) -> float:
    """Where the profile gain reaches ``limit`` on one side of the estimate."""
    def gain(b: float) -> float:  # a profile fit that fails is far beyond the limit
        try:
            with np.errstate(all="ignore"):  # far out, the fit may overflow: see below
                value = profile(b)
        except (RankDeficientError, ValueError):
            return 1e6 * limit
        return value if np.isfinite(value) else 1e6 * limit

    # Steps and tolerance scale with the standard error, not with 1: rescaling a
    # column by c rescales its interval by 1/c exactly, however small the estimate.
    step = se if np.isfinite(se) and se > 0 else 1e-8 * max(1.0, abs(estimate))
    far = estimate + side * 2.0 * step
    for _ in range(60):  # widen until the profile crosses the limit
        if gain(far) > limit:
            break
        far = estimate + 2.0 * (far - estimate)
    else:
        return float(side * np.inf)  # the likelihood never drops enough: unbounded
    lo, hi = sorted((estimate, far))
    return float(optimize.brentq(lambda b: gain(b) - limit, lo, hi,
                                 xtol=1e-10 * step))
