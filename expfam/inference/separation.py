"""Detecting complete and quasi-complete separation by linear programming.

Maximum-likelihood estimates of a logistic (or multinomial) model exist unless
some direction d in coefficient space never makes any observation less
likely and makes some more likely: then moving along d raises the likelihood
forever and the estimates "run off to infinity".  For 0/1 responses that is
a d with (2y_i − 1)·x_iᵀd ≥ 0 for every row (Albert and Anderson, 1984);
*complete* separation when every inequality can be strict.  Rows with both
outcomes (binomial counts 0 < y < n) force x_iᵀd = 0.  For K classes the
direction is a set of per-class vectors with x_iᵀ(d_{y_i} − d_j) ≥ 0 for all j.

The check solves one LP (Konis, 2007): maximise Σ_i of those margins subject
to them being ≥ 0 and −1 ≤ d ≤ 1.  A positive optimum means separation, and
the coefficients with d_j ≠ 0 are the ones whose estimates diverge.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from expfam._typing import FloatArray

__all__ = ["Separation", "boundary_message", "detect_separation"]

#: Margins and directions below this (relative) are rounding, not separation.
TOLERANCE = 1e-7


@dataclass(frozen=True)
class Separation:
    """The outcome of :func:`detect_separation`.

    Attributes
    ----------
    separated : bool
    complete : bool
        Every row strictly separated (else quasi-complete).
    direction : ndarray, shape (p,) or (p, m)
        A separating direction (zeros when not separated).
    rows : ndarray of int
        Rows with a strictly positive margin along the direction.
    involved : ndarray of bool, shape (p,)
        Columns of the design the direction uses (for any class): the terms
        whose estimates diverge.
    """

    separated: bool
    complete: bool
    direction: FloatArray
    rows: np.ndarray
    involved: np.ndarray


def _strictly_separable(a_ineq: FloatArray) -> bool:
    """Whether some d makes every margin positive: max s subject to A·d ≥ s, s ≤ 1."""
    n, k = a_ineq.shape
    result = optimize.linprog(
        np.r_[np.zeros(k), -1.0], A_ub=np.column_stack([-a_ineq, np.ones(n)]),
        b_ub=np.zeros(n), bounds=[(-1.0, 1.0)] * k + [(None, 1.0)], method="highs")
    return bool(result.success and -result.fun > TOLERANCE)


def detect_separation(exog: FloatArray, target: FloatArray,
                      weights: FloatArray | None = None) -> Separation:
    """Whether a binary or categorical response is separated by the design.

    Parameters
    ----------
    exog : ndarray, shape (n, p)
    target : ndarray, shape (n,) or (n, m)
        Per-trial statistic t: 0/1 (or a proportion) for binary data, one-hot
        without the reference (or class shares) for K = m + 1 classes.
    weights : ndarray, shape (n,), optional
        Rows of zero weight are left out.
    """
    x = np.asarray(exog, dtype=np.float64)
    t = np.asarray(target, dtype=np.float64)
    original = np.arange(len(x))
    if weights is not None:
        keep = np.asarray(weights) > 0
        x, t, original = x[keep], t[keep], original[keep]
    scale = np.abs(x).max(axis=0)
    scale[scale == 0] = 1.0
    x = x / scale  # column scaling keeps the LP well conditioned
    full = np.column_stack([1.0 - t.sum(axis=1), t]) if t.ndim == 2 else np.column_stack(
        [1.0 - t, t])
    p = x.shape[1]
    k = full.shape[1]
    # Variables: d_1 … d_{K−1} (the reference's d_0 is 0), class-major.
    blocks_ineq: list[tuple[FloatArray, np.ndarray]] = []
    blocks_eq: list[tuple[FloatArray, np.ndarray]] = []
    for c in range(k):  # rows that contain class c: it must not become less likely
        has = full[:, c] > 0
        for j in range(k):
            if j == c:
                continue
            # margin x_iᵀ(d_c − d_j) for rows with class c; = 0 if they also have j.
            rows = has & ~(full[:, j] > 0)
            both = has & (full[:, j] > 0)
            for chosen, bucket in ((rows, blocks_ineq), (both, blocks_eq)):
                if not chosen.any():
                    continue
                coef = np.zeros((int(chosen.sum()), (k - 1) * p))
                if c > 0:
                    coef[:, (c - 1) * p: c * p] += x[chosen]
                if j > 0:
                    coef[:, (j - 1) * p: j * p] -= x[chosen]
                bucket.append((coef, np.flatnonzero(chosen)))
    a_ineq = np.vstack([b[0] for b in blocks_ineq]) if blocks_ineq else np.zeros(
        (0, (k - 1) * p))
    a_eq = np.vstack([b[0] for b in blocks_eq]) if blocks_eq else None
    objective = -a_ineq.sum(axis=0)  # maximise the total margin
    result = optimize.linprog(
        objective, A_ub=-a_ineq, b_ub=np.zeros(len(a_ineq)),
        A_eq=a_eq, b_eq=None if a_eq is None else np.zeros(len(a_eq)),
        bounds=[(-1.0, 1.0)] * ((k - 1) * p), method="highs")
    shape = (p,) if t.ndim == 1 else (p, k - 1)
    if not result.success or -result.fun <= TOLERANCE * max(1, len(a_ineq)):
        return Separation(False, False, np.zeros(shape), np.zeros(0, dtype=np.int64),
                          np.zeros(p, dtype=bool))
    direction = np.where(np.abs(result.x) > TOLERANCE, result.x, 0.0)
    margins = a_ineq @ direction
    owners = np.concatenate([b[1] for b in blocks_ineq])
    strict = np.unique(original[owners[margins > TOLERANCE]])
    complete = a_eq is None and (bool(np.all(margins > TOLERANCE))
                                 or _strictly_separable(a_ineq))
    per_column = np.abs(direction.reshape(k - 1, p)).max(axis=0)  # scaled units
    involved = per_column > 1e-3 * per_column.max()
    direction = (direction.reshape(k - 1, p).T / scale[:, None]).reshape(shape)
    return Separation(True, complete, direction, strict, involved)


def boundary_message(rows: int, family: str, names: list[str],
                     separation: Separation | None) -> str:
    """The SeparationWarning's text: what the LP found, which terms, what to do."""
    what = "probabilities numerically 0 or 1" if family != "poisson" else "means numerically 0"
    if separation is None:
        return (f"fitted {what} occurred at {rows} row(s), as R warns. Either the predictors "
                "separate the outcomes there — then the estimates of the terms involved run "
                "off towards infinity and their standard errors and tests mean nothing; look "
                "for a predictor that determines the outcome, drop or merge it, or fit with "
                "a penalty — or some predictor takes extreme values at those rows.")
    if not separation.separated:
        return (f"fitted {what} occurred at {rows} row(s), but the outcomes are not "
                "separated (checked by linear programming): the estimates are finite. Some "
                "predictor takes extreme values at those rows; check them for errors.")
    kind = "completely" if separation.complete else "quasi-completely"
    terms = ", ".join(n for n, used in zip(names, separation.involved, strict=True) if used)
    return (f"the predictors {kind} separate the outcomes (a linear program found a "
            f"direction that fits {len(separation.rows)} row(s) perfectly and no row worse): "
            f"the maximum-likelihood estimates of {terms} do not exist — they run off to "
            "infinity, and the reported values, standard errors and tests mean nothing. Drop "
            "or merge the terms that determine the outcome, or fit with a penalty.")
