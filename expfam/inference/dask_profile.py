"""Profile-likelihood intervals of a Dask fit, every endpoint solved in the same passes.

In memory (:func:`expfam.inference.hypotheses.profile_conf_int`) each endpoint
is found by root finding on the profile, one refit per point: on Dask that
would be hundreds of passes.  Here each endpoint (β_j = b, the others
re-estimated, at a gain of exactly χ²₁(1 − α)) is the root of one system in
all the coefficients,

    ∂L/∂β_k = 0 for every k ≠ j,    2·(L(β) − L(β̂))/φ = χ²₁(1 − α),

whose Jacobian is the Hessian's rows k ≠ j over the gradient's row 2gᵀ/φ.
Newton's method on it, started where the quadratic approximation puts the
endpoint (β̂ ± t·H⁻¹e_j), converges quadratically; all 2p endpoints take
their Newton steps together, one pass per step returning the loss, gradient
and Hessian at each of them (under a non-canonical link, the observed
Hessian, so that the steps stay Newton's).  Five or six passes give every
interval; an endpoint whose Newton iteration fails (a profile that is far from
quadratic, or never reaches the limit) falls back to the in-memory root
finding with a Dask refit per profile point.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from expfam._typing import FloatArray
from expfam.backend.blocks import NewtonSums
from expfam.backend.dask_backend import DaskBackend
from expfam.design.gram import ArrowGram
from expfam.engine.dask_passes import BatchSums, fixed_part, observed_part
from expfam.engine.dask_problem import Part, newton_part
from expfam.engine.schur import SchurFactor
from expfam.engine.solvers.dask_newton import dask_newton
from expfam.errors import ExpfamError, InputError
from expfam.families import ExponentialFamily
from expfam.inference.hypotheses import _end, chosen_terms

if TYPE_CHECKING:
    from expfam.inference.dask_results import DaskGLMResults

__all__ = ["dask_profile_conf_int"]

#: Newton steps per endpoint before it falls back to root finding.
MAX_STEPS = 30
#: Stop when every coefficient's step is below this many standard errors.
STEP_TOL = 1e-11


def dask_profile_conf_int(res: DaskGLMResults, alpha: float,
                          terms: Any = None) -> pd.DataFrame:
    """Profile intervals for ``terms`` (default every coefficient); see the module
    notes.  The passes are added to ``res.passes`` and ``res.n_passes``."""
    if res.model.classes is not None:
        raise InputError("profile intervals are for single-response families; use "
                         "conf_int() (Wald) for a categorical model")
    names = list(res.model.exog_names)
    wanted = chosen_terms(names, terms)
    backend = DaskBackend(res._parts)
    beta = np.asarray(res.solver.coef, dtype=np.float64)
    bse = np.asarray(res.bse, dtype=np.float64)
    hessian = res.solver.hessian  # an ArrowGram for a factor of many levels
    limit = float(stats.chi2.isf(alpha, 1))
    scale = float(res.scale)
    ends = [(names.index(n), side) for n in wanted for side in (-1.0, 1.0)]
    family = res.model.family
    found = _newton_ends(backend, family, beta, bse, hessian, res.solver.loss, scale, limit,
                         ends)
    for (j, side), value in list(found.items()):
        if value is None:
            gain = _refit_gain(backend, family, beta, j, res.solver.loss, scale, names)
            found[(j, side)] = _end(gain, beta[j], bse[j], side, limit)
    res.passes.extend(backend.passes)
    res.seconds.extend(backend.seconds)
    res.n_passes += backend.n_passes
    rows = {n: [found[(names.index(n), -1.0)], found[(names.index(n), 1.0)]] for n in wanted}
    return pd.DataFrame.from_dict(rows, orient="index", columns=["lower", "upper"])


class _Sums:
    """Loss, gradient and Hessian at several coefficient vectors (picklable)."""

    def __init__(self, observed: bool) -> None:
        self.observed = observed

    def __call__(self, part: Part, coefs: list[FloatArray]) -> BatchSums:
        out = []
        for c in coefs:
            if self.observed:  # the true Hessian keeps Newton's steps quadratic
                sums = newton_part(part, c, False)
                out.append(NewtonSums(sums.loss, sums.gradient, observed_part(part, c)))
            else:
                out.append(newton_part(part, c, True))
        return BatchSums(tuple(out))


def _newton_ends(backend: DaskBackend, family: ExponentialFamily, beta: FloatArray,
                 bse: FloatArray, hessian: FloatArray | ArrowGram, loss_min: float,
                 scale: float, limit: float, ends: list[tuple[int, float]]
                 ) -> dict[tuple[int, float], float | None]:
    """Every endpoint by Newton's method on its system, all in the same passes;
    None for those that did not converge."""
    current: dict[tuple[int, float], FloatArray] = {}
    for j, side in ends:
        cov_j = _solve_unit(hessian, j)  # H⁻¹e_j: one Schur solve for an arrow
        t = np.sqrt(limit * scale / cov_j[j])
        current[(j, side)] = beta + side * t * cov_j
    result: dict[tuple[int, float], float | None] = dict.fromkeys(ends)
    active = list(ends)
    part = _Sums(observed=not family.canonical)
    for _ in range(MAX_STEPS):
        if not active:
            break
        batch: BatchSums = backend.map_sum(part, [current[e] for e in active],
                                           what=f"profile endpoints ({len(active)})")
        still = []
        for (j, side), sums in zip(active, batch.sums, strict=True):
            step = _step(sums, j, loss_min, scale, limit)
            if step is None:
                continue  # fails: root finding instead
            current[(j, side)] = current[(j, side)] + step
            if np.all(np.abs(step) <= STEP_TOL * np.maximum(bse, 1e-300)):
                b = float(current[(j, side)][j])
                if side * (b - beta[j]) > 0:  # the root on the asked-for side
                    result[(j, side)] = b
                continue
            still.append((j, side))
        active = still
    return result


def _step(sums: NewtonSums, j: int, loss_min: float, scale: float,
          limit: float) -> FloatArray | None:
    """The Newton step on the endpoint's system, or None if the sums are not finite
    or its Jacobian is singular."""
    if not sums.finite or sums.hessian is None or sums.loss is None:
        return None
    if isinstance(sums.hessian, ArrowGram):
        return _arrow_step(sums.hessian, sums.gradient, j,
                           2.0 * (sums.loss - loss_min) / scale - limit, scale)
    g = sums.gradient
    k = len(g)
    others = [c for c in range(k) if c != j]
    jac = np.empty((k, k))
    jac[:-1] = sums.hessian[others]
    jac[-1] = 2.0 * g / scale
    f = np.append(g[others], 2.0 * (sums.loss - loss_min) / scale - limit)
    try:
        step = np.linalg.solve(jac, -f)
    except np.linalg.LinAlgError:
        return None
    return step if np.all(np.isfinite(step)) else None


def _solve_unit(hessian: FloatArray | ArrowGram, j: int) -> FloatArray:
    """H⁻¹e_j, shape (p,)."""
    unit = np.zeros(hessian.shape[0])
    unit[j] = 1.0
    if isinstance(hessian, ArrowGram):
        return SchurFactor(hessian).solve(unit)
    return np.linalg.solve(np.asarray(hessian, dtype=np.float64), unit)


def _arrow_step(hessian: ArrowGram, g: FloatArray, j: int, excess: float,
                scale: float) -> FloatArray | None:
    """The Newton step of :func:`_step` when H is an arrow (a factor of many
    levels), without writing out the p × p Jacobian.

    The Jacobian is H with its row j replaced by vᵀ = 2gᵀ/φ, i.e. H + e_j(v − He_j)ᵀ,
    and the right-hand side is −F with F = g but F_j the gain's excess over the
    limit; by Sherman–Morrison, with u = v − He_j, the step is
    −(H⁻¹F − H⁻¹e_j·(uᵀH⁻¹F)/(1 + uᵀH⁻¹e_j)): two Schur solves.
    """
    try:
        factor = SchurFactor(hessian)
    except (ExpfamError, np.linalg.LinAlgError):
        return None  # a level without weight at this point: root finding instead
    f = g.copy()
    f[j] = excess
    unit = np.zeros(len(g))
    unit[j] = 1.0
    h_f, h_e = factor.solve(f), factor.solve(unit)
    u = 2.0 * g / scale - hessian.matmul(unit)
    denominator = 1.0 + u @ h_e
    if not np.isfinite(denominator) or abs(denominator) < 1e-12:
        return None
    step = -(h_f - h_e * (u @ h_f) / denominator)
    return step if np.all(np.isfinite(step)) else None


def _refit_gain(backend: DaskBackend, family: ExponentialFamily, beta: FloatArray, j: int,
                loss_min: float, scale: float, names: list[str]) -> Any:
    """b ↦ the profile gain at β_j = b, from a Dask refit with that column in the
    offset (as the in-memory profile; several passes per point)."""
    from dask import delayed

    others = np.array([c for c in range(len(beta)) if c != j])

    def gain(b: float) -> float:
        parts = [delayed(fixed_part, pure=True)(p, j, b) for p in backend.parts]
        fit = dask_newton(backend, (len(others),), saturated=0.0, total=1.0, sample=None,
                          start=beta[others], parts=parts,
                          names=[names[c] for c in others], family=family)
        return 2.0 * (fit.solver.loss - loss_min) / scale

    return gain
