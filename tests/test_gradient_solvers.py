"""Gradient descent, SGD and L-BFGS reach the IRLS optimum, on unscaled real data."""

from __future__ import annotations

import re
import warnings
from dataclasses import replace
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import expfam as ef
from expfam.backend.blocks import default_backend
from expfam.engine.kernels import newton_block
from expfam.engine.problem import GLMProblem
from expfam.engine.solvers import _objective
from expfam.engine.solvers._objective import HESSIAN_REUSE, Standardized, newton_polish
from expfam.engine.solvers.sgd import MIN_BATCHES, default_batch_size
from expfam.families import Bernoulli, Binomial, Categorical, Poisson
from validation.benchmark import make_data

matplotlib.use("Agg")

PIMA = ("diabetes ~ pregnancies + glucose + blood_pressure + skin_fold + bmi + pedigree "
        "+ age")


def _ucb():
    data = ef.datasets.load("ucb_admissions").assign(n=lambda d: d.admitted + d.rejected)
    return ef.glm("admitted ~ gender + dept", data, family="binomial", trials="n")


def _warp_offset():
    data = ef.datasets.load("warpbreaks").assign(o=np.log(np.arange(54) % 4 + 1.0))
    return ef.glm("breaks ~ wool + tension", data, family="poisson", offset="o")


MODELS = {
    "pima": lambda: ef.logit(PIMA, ef.datasets.load("pima")),
    "anes96": lambda: ef.mnlogit("party ~ self_lr + age + educ + income + log_popul",
                                 ef.datasets.load("anes96")),
    "ucb_trials": _ucb,
    "warpbreaks": lambda: ef.glm("breaks ~ wool * tension", ef.datasets.load("warpbreaks"),
                                 family="poisson"),
    "warpbreaks_offset": _warp_offset,
    "mtcars_weights": lambda: ef.logit("am ~ hp + wt", ef.datasets.load("mtcars"),
                                       weights=np.arange(32) % 3 + 1.0),
}


def _gap(res, ref) -> float:
    """Largest |Δβ| relative to max(|β|, its standard error): relative accuracy,
    except for coefficients too near zero for a relative error to mean anything."""
    a, b, se = (np.asarray(x, dtype=float) for x in (res.params, ref.params, ref.bse))
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), se)))


#: gd and L-BFGS end with a Newton step: they should agree with IRLS to about
#: its own accuracy, and their standard errors to HESSIAN_REUSE.
POLISHED = 1e-8


@pytest.mark.parametrize("method", ["gd", "lbfgs"])
@pytest.mark.parametrize("name", list(MODELS))
def test_full_batch_solvers_reach_the_irls_optimum(name, method):
    ref = MODELS[name]().fit()
    res = MODELS[name]().fit(method)
    assert res.converged and res.method == method
    assert _gap(res, ref) <= POLISHED
    # Inference from the observed information at the estimate: as IRLS's.
    np.testing.assert_allclose(np.asarray(res.bse), np.asarray(ref.bse), rtol=HESSIAN_REUSE)
    assert res.llf == pytest.approx(ref.llf, rel=1e-12)


def test_unscaled_pima_to_the_digits_the_issue_asks_for():
    # Glucose in the hundreds next to a pedigree score below one, as given.
    ref = MODELS["pima"]().fit()
    for method in ("gd", "lbfgs"):
        res = MODELS["pima"]().fit(method)
        np.testing.assert_allclose(res.params, ref.params, rtol=POLISHED)
    res = MODELS["pima"]().fit("sgd", random_state=0)
    assert res.converged
    # SGD is approximate: a few percent typically, a tenth of a standard error
    # at worst (relative errors of coefficients near zero mean little).
    relative = np.abs(res.params / ref.params - 1)
    assert np.median(relative) <= 0.02
    assert _gap(res, ref) <= 0.1
    np.testing.assert_allclose(res.bse, ref.bse, rtol=0.01)


@pytest.mark.parametrize("name", ["pima", "anes96"])
def test_sgd_gets_within_a_few_percent(name):
    ref = MODELS[name]().fit()
    res = MODELS[name]().fit("sgd", random_state=1)
    assert res.converged and res.method == "sgd"
    assert _gap(res, ref) <= 0.1
    assert np.median(np.abs(np.asarray(res.params) / np.asarray(ref.params) - 1)) <= 0.02
    assert res.llf == pytest.approx(ref.llf, rel=1e-3)
    again = MODELS[name]().fit("sgd", random_state=1)  # seeded: reproducible
    np.testing.assert_array_equal(np.asarray(again.params), np.asarray(res.params))


def test_history_and_convergence_plot():
    newton = MODELS["pima"]().fit()
    ax = None
    for method in ("gd", "lbfgs", "sgd"):
        res = MODELS["pima"]().fit(method, random_state=0) if method == "sgd" else \
            MODELS["pima"]().fit(method)
        history = res.history
        assert {"loss", "grad_norm", "step"} <= set(history.columns)
        assert history["kind"].iloc[-1] == "final"
        assert history["grad_norm"].iloc[-1] < history["grad_norm"].iloc[0]
        ax = res.plot_convergence(ax=ax)
    newton.plot_convergence(ax=ax, quantity="loss")
    assert len(ax.get_lines()) == 4
    with pytest.raises(ef.InputError, match="quantity"):
        newton.plot_convergence(quantity="nope")


def _warp_additive():
    return ef.glm("breaks ~ wool + tension", ef.datasets.load("warpbreaks"), family="poisson")


@pytest.mark.parametrize("method", ["gd", "lbfgs", "sgd"])
def test_history_is_on_one_scale_for_poisson(method):
    # A Poisson loss without its base measure is far from zero (L_sat ≠ 0): the
    # solvers' rows must still report L/Σw and 2(L − L_sat), as IRLS's do.
    model = _warp_additive()
    irls = model.fit().history
    res = model.fit(method, **({"random_state": 0} if method == "sgd" else {}))
    history = res.history
    total = float(len(ef.datasets.load("warpbreaks")))  # unit weights
    solver_rows = history[history["kind"] != "final"]
    last, final = solver_rows.iloc[-1], history.iloc[-1]
    assert last["deviance"] == pytest.approx(final["deviance"], rel=1e-6)
    assert last["loss"] == pytest.approx(final["loss"], rel=1e-6)
    # Every row, of every solver: 2·loss·Σw − deviance = 2·L_sat, one constant.
    saturated = 2 * irls["loss"].iloc[-1] * total - irls["deviance"].iloc[-1]
    np.testing.assert_allclose(2 * history["loss"] * total - history["deviance"], saturated,
                               rtol=1e-9)
    if method != "sgd":  # SGD stops at its noise floor, not at the optimum
        assert final["deviance"] == pytest.approx(irls["deviance"].iloc[-1], rel=1e-9)
    # The loss plot is the distance to the minimum: it falls to rounding.
    line = res.plot_convergence(quantity="loss").get_lines()[0]
    values = np.asarray(line.get_ydata(), dtype=float)
    assert values[0] == pytest.approx(
        (history["deviance"].iloc[0] - final["deviance"]) / (2 * total), rel=1e-6)
    if method != "sgd":
        assert np.nanmin(values) < 1e-6 * values[0]


def test_gd_takes_few_steps_when_well_conditioned():
    # iid columns: the standardized Hessian's eigenvalues are all near one, so
    # steepest descent should need a handful of steps, not zigzag at the edge of
    # stability (step 2/λ), as with the textbook Armijo constant 1e-4.
    d = make_data(50_000, 10, "iid")
    model = ef.GLM(d.y, d.X)
    res = model.fit("gd")
    objective = Standardized.build(model.problem(), default_backend())
    eigenvalues = np.linalg.eigvalsh(objective.curvature(res.solver.hessian))
    assert eigenvalues[-1] / eigenvalues[0] < 1.5  # the premise: well conditioned
    assert res.converged and res.n_iter < 50
    # Sufficient decrease with c = 1/2 accepts no step past the line minimum,
    # which along any direction is at most 1/λ_min away.
    steps = res.history.loc[res.history["kind"] == "gd", "step"]
    assert steps.max() <= 1.0 / eigenvalues[0]


def test_lbfgs_is_polished_to_the_irls_digits_on_a_correlated_design():
    # Correlated columns with scales two orders of magnitude apart: L-BFGS alone
    # stops where the loss is flat to rounding, ~1e-5 off on coefficients near 0.
    d = make_data(20_000, 50, "correlated")
    ref = ef.GLM(d.y, d.X).fit()
    res = ef.GLM(d.y, d.X).fit("lbfgs")
    assert res.converged
    a, b = np.asarray(res.params), np.asarray(ref.params)
    assert np.max(np.abs(a - b) / np.abs(b)) <= 1e-8
    kinds = list(res.history["kind"])
    assert kinds[-2:] == ["newton polish", "final"]
    polish, final = res.history.iloc[-2], res.history.iloc[-1]
    assert polish["grad_norm"] < res.history["grad_norm"].iloc[-3]
    assert polish["loss"] == final["loss"]
    # η, the fit and the standard errors all belong to the polished estimate.
    np.testing.assert_allclose(res.solver.eta, d.X @ a, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.asarray(res.bse), np.asarray(ref.bse), rtol=1e-6)
    assert res.llf == pytest.approx(ref.llf, rel=1e-12)


def _near_optimum(offset: float):
    """Pima's standardized objective, γ a little off the optimum, and the exact
    loss, gradient, Hessian and η there."""
    model = MODELS["pima"]()
    ref = model.fit()
    objective = Standardized.build(model.problem(), default_backend())
    gamma = objective.gamma(np.asarray(ref.params)) + offset
    eta = np.empty(model.problem().eta_shape)
    sums = objective.sums(objective.coef(gamma), hessian=True, eta_out=eta)
    return objective, gamma, sums, eta, ref


def test_newton_polish_steps_to_the_optimum_with_a_valid_hessian():
    objective, gamma, sums, eta, ref = _near_optimum(1e-3)
    coef, new_eta, new, factor = newton_polish(objective, gamma, sums, eta)
    assert factor is None  # a fresh Hessian: the step's factorization is not its
    target = np.asarray(ref.params)
    before = np.max(np.abs(objective.coef(gamma) / target - 1))
    assert np.max(np.abs(coef / target - 1)) <= 0.1 * before  # Newton: quadratic
    assert new.loss < sums.loss
    # η moved by more than HESSIAN_REUSE: the Hessian is a fresh one at ``coef``.
    assert np.max(np.abs(new_eta - eta)) > HESSIAN_REUSE
    np.testing.assert_allclose(new.hessian, objective.sums(coef, hessian=True).hessian,
                               rtol=1e-12)
    # At the optimum itself η barely moves, and the Hessian in hand is kept.
    objective, gamma, sums, eta, _ = _near_optimum(0.0)
    _, new_eta, new, factor = newton_polish(objective, gamma, sums, eta)
    assert np.max(np.abs(new_eta - eta)) <= HESSIAN_REUSE
    assert new.hessian is sums.hessian
    # ... and so is its factorization, for the standard errors.
    np.testing.assert_allclose(factor.inverse(), np.linalg.inv(sums.hessian), rtol=1e-10)


def test_newton_polish_refuses_a_bad_step():
    objective, gamma, sums, eta, _ = _near_optimum(1e-3)
    # A Hessian far too small makes the step far too long: the loss rises.
    assert newton_polish(objective, gamma, replace(sums, hessian=sums.hessian * 1e-4),
                         eta) is None
    nan = np.full_like(sums.hessian, np.nan)
    assert newton_polish(objective, gamma, replace(sums, hessian=nan), eta) is None


def test_a_refused_polish_keeps_the_lbfgs_point(monkeypatch):
    monkeypatch.setattr(_objective, "newton_polish", lambda *args: None)
    ref = MODELS["pima"]().fit()
    res = MODELS["pima"]().fit("lbfgs")
    assert "Newton step was not taken" in res.solver.message
    assert "newton polish" not in set(res.history["kind"])
    assert _gap(res, ref) <= 1e-5
    np.testing.assert_allclose(res.solver.eta, MODELS["pima"]().exog @ np.asarray(res.params),
                               rtol=1e-12, atol=1e-12)


def test_sgd_defaults_work_on_data_smaller_than_a_batch():
    # mtcars has 32 rows: one default batch of 32 made each epoch one
    # full-batch step, and 200 of them stopped 20% off.
    model = ef.logit("am ~ hp + wt", ef.datasets.load("mtcars"))
    assert 32 // default_batch_size(32) >= MIN_BATCHES
    ref = model.fit()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = model.fit("sgd", random_state=0)
    assert res.converged
    # Every coefficient is 2-3 standard errors from zero: relative errors mean
    # something, and so does the distance in standard errors.
    assert np.max(np.abs(res.params / ref.params - 1)) <= 0.03
    assert _gap(res, ref) <= 0.1


def test_scipy_floor_covers_the_lbfgs_callback():
    # The callback takes ``intermediate_result``, which SciPy has passed since 1.11.
    text = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    match = re.search(r'"scipy>=(\d+)\.(\d+)', text)
    assert match and (int(match[1]), int(match[2])) >= (1, 11)


def test_fixed_learning_rate_and_options():
    model = MODELS["pima"]()
    ref = model.fit()
    res = model.fit("gd", learning_rate=0.5, max_iter=5000)
    assert res.converged
    np.testing.assert_allclose(res.params, ref.params, rtol=1e-4)
    with pytest.warns(ef.ConvergenceWarning, match=r"learning rate 1e\+06 is too large"), \
            pytest.warns(ef.SeparationWarning):  # the wild steps end on the boundary
        model.fit("gd", learning_rate=1e6, max_iter=50)
    with pytest.raises(ef.InputError, match="no option batch_size; its options: "
                                            "learning_rate"):
        model.fit("gd", batch_size=10)
    with pytest.raises(ef.InputError, match="epochs= instead of max_iter"):
        model.fit("sgd", max_iter=10)
    with pytest.warns(ef.ConvergenceWarning, match="epoch limit"):
        model.fit("sgd", epochs=2, random_state=0)


def test_sgd_progress_goes_to_stderr(capsys):
    MODELS["pima"]().fit("sgd", epochs=3, random_state=0, progress=True, tol=1.0)
    err = capsys.readouterr().err  # not a terminal: one log line per epoch
    assert "sgd iteration 1" in err and "deviance" in err and "decrement" in err


def test_summary_names_the_solver():
    res = MODELS["pima"]().fit("lbfgs")
    assert "L-BFGS" in str(res.summary())


# -- the gradient is the derivative of the loss, for every family ----------------------
FAMILIES = {
    "bernoulli": (Bernoulli(), lambda rng, n: rng.integers(0, 2, n).astype(float)),
    "binomial": (Binomial(), lambda rng, n: rng.integers(0, 6, n) / 5.0),
    "poisson": (Poisson(), lambda rng, n: rng.poisson(3.0, n).astype(float)),
    "categorical": (Categorical(), lambda rng, n: Categorical(n_classes=3).sufficient_stat(
        rng.integers(0, 3, n))),
}


@pytest.mark.parametrize("family", list(FAMILIES))
@given(seed=st.integers(0, 2**31), scale=st.floats(0.01, 100.0))
def test_gradient_matches_finite_differences(family, seed, scale):
    fam, response = FAMILIES[family]
    rng = np.random.default_rng(seed)
    n, p = 30, 3
    exog = np.column_stack([np.ones(n), rng.normal(0, scale, (n, p - 1))])
    target = response(rng, n)
    weights = rng.uniform(0.5, 2.0, n) * (5.0 if family == "binomial" else 1.0)
    problem = GLMProblem(exog, target, weights, None, fam)
    coef = rng.normal(0, 0.3, problem.coef_shape) / np.r_[1.0, np.full(p - 1, scale)][
        (slice(None),) + (None,) * (len(problem.coef_shape) - 1)]

    def loss(c: np.ndarray) -> float:
        return newton_block(problem, slice(None), problem.unflat(c), hessian=False).loss

    analytic = newton_block(problem, slice(None), coef, hessian=False).gradient
    flat = problem.flat(coef)
    numeric = np.empty_like(flat)
    for i in range(flat.size):
        h = 1e-6 * max(1.0, abs(flat[i]))
        up, down = flat.copy(), flat.copy()
        up[i] += h
        down[i] -= h
        numeric[i] = (loss(up) - loss(down)) / (2 * h)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5,
                               atol=1e-6 * np.abs(analytic).max() + 1e-8)

    # The same in the solvers' standardized coordinates (the chain rule through T).
    objective = Standardized.build(problem, default_backend())
    gamma = objective.gamma(coef)
    f0, g = objective.value_and_gradient(gamma)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(gamma.size):
            h = 1e-6 * max(1.0, abs(gamma[i]))
            e = np.zeros_like(gamma)
            e[i] = h
            fd = (objective.value_and_gradient(gamma + e)[0]
                  - objective.value_and_gradient(gamma - e)[0]) / (2 * h)
            assert fd == pytest.approx(g[i], rel=1e-4, abs=1e-6 * np.abs(g).max() + 1e-8)
    assert np.isfinite(f0)
