"""Categorical (multinomial) family with K−1 natural parameters against a reference.

Class 0 is the reference: its natural parameter is fixed at 0, so
η = (η_1, …, η_{K−1}) and T(y) is the one-hot vector of y without its
first entry.  A(η) = log(1 + Σ_k e^{η_k}) and ∇A(η) is the softmax of
(0, η) without its first entry; ∇²A(η) = diag(p) − p·pᵀ.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from expfam.errors import InputError
from expfam.families.base import ExponentialFamily, FloatArray, as_float

__all__ = ["Categorical"]


def _xlogx(x: FloatArray) -> FloatArray:
    """x·log x with 0·log 0 = 0; for one-hot rows, only zeros and ones (faster than xlogy)."""
    return x * np.log(np.where(x > 0.0, x, 1.0))


class Categorical(ExponentialFamily):
    """Class label y ∈ {0, …, K−1}, or a row of K class counts, with softmax probabilities.

    Parameters
    ----------
    n_classes : int, optional
        K.  Needed only to one-hot encode integer labels when the largest class
        does not occur; otherwise it is read from the data or from η.

    Notes
    -----
    A(η) is computed with the maximum of (0, η) factored out, so it never
    overflows: the implicit zero of the reference class is part of the shift.
    A response given as a K-column matrix is read row by row.  A row of
    integer counts is a multinomial draw of ``n = row total`` trials (log h =
    the multinomial coefficient); a row with a fractional entry (probabilities,
    "soft labels", or fractional counts) gives the cross-entropy weighted by its
    total, with log h = 0 for that row alone.
    """

    name = "categorical"
    link_name = "multinomial logit"
    links = ("logit",)
    natural_link = "logit"
    has_trials = True
    vector_natural = True

    def __init__(self, n_classes: int | None = None) -> None:
        if n_classes is not None and n_classes < 2:
            raise InputError(f"a categorical family needs at least 2 classes, got {n_classes}")
        self.n_classes = n_classes

    # -- T(y) ----------------------------------------------------------
    def sufficient_stat(self, y: ArrayLike) -> FloatArray:
        y_arr = np.asarray(y)
        if y_arr.ndim == 2:
            return as_float(y_arr)[:, 1:]
        return self.class_shares(y_arr)[..., 1:]

    def class_shares(self, y: ArrayLike) -> FloatArray:
        """Observed per-trial share of every class, the reference (column 0) included.

        One-hot rows for class codes; each row over its total for a matrix.  The
        reference's share is taken from the data, not as 1 − Σ of the others, so
        that a zero stays exactly zero.
        """
        y_arr = np.asarray(y)
        if y_arr.ndim == 2:
            matrix = as_float(y_arr)
            return matrix / matrix.sum(axis=1, keepdims=True)
        self.check_support(y_arr, warn=False)
        codes = y_arr.astype(np.int64)
        k = self.n_classes or int(codes.max(initial=0)) + 1
        onehot = np.zeros((*codes.shape, k), dtype=np.float64)
        np.put_along_axis(onehot, codes[..., None], 1.0, axis=-1)
        return onehot

    def implied_trials(self, y: ArrayLike) -> FloatArray | None:
        y_arr = np.asarray(y)
        return as_float(y_arr).sum(axis=-1) if y_arr.ndim == 2 else None

    # -- A and its derivatives -----------------------------------------
    @staticmethod
    def _shifted_exp(eta: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """e^{η_k − c}, the sum S = e^{−c} + Σ_k e^{η_k − c}, and the shift c.

        c = max(0, max_k η_k) includes the reference class's implicit 0, so every
        exponent is ≤ 0 (no overflow) and S ≥ 1 (no log of zero).
        """
        c = np.max(eta, axis=-1, initial=0.0)
        e = np.exp(eta - c[..., None])
        return e, np.exp(-c) + e.sum(axis=-1), c

    def log_partition(self, eta: ArrayLike) -> FloatArray:
        _, s, c = self._shifted_exp(as_float(eta))
        return c + np.log(s)

    def mean(self, eta: ArrayLike) -> FloatArray:
        e, s, _ = self._shifted_exp(as_float(eta))
        return e / s[..., None]

    def variance(self, eta: ArrayLike) -> FloatArray:
        return self._covariance(self.mean(eta))

    def cumulants(self, eta: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
        e, s, c = self._shifted_exp(as_float(eta))
        p = e / s[..., None]
        return c + np.log(s), p, self._covariance(p)

    def class_probabilities(self, eta: ArrayLike) -> FloatArray:
        """P(y = k) for every class, the reference (column 0) included: shape (…, K).

        The reference's probability is e^{−c}/S, not 1 − Σ p_k, so it keeps its
        relative accuracy when it is tiny.
        """
        e, s, c = self._shifted_exp(as_float(eta))
        return np.concatenate([np.exp(-c)[..., None], e], axis=-1) / s[..., None]

    def log_partition_and_mean(self, eta: ArrayLike) -> tuple[FloatArray, FloatArray]:
        e, s, c = self._shifted_exp(as_float(eta))
        return c + np.log(s), e / s[..., None]

    @staticmethod
    def _covariance(p: FloatArray) -> FloatArray:
        """diag(p) − p·pᵀ per row, shape (…, m, m)."""
        cov = -p[..., :, None] * p[..., None, :]
        np.einsum("...ii->...i", cov)[...] += p
        return cov

    def natural_from_mean(self, mu: ArrayLike) -> FloatArray:
        mu_arr = as_float(mu)
        # The reference proportion, kept ≥ 0 against rounding (1 − Σ can be −1e-16).
        p0 = np.maximum(1.0 - mu_arr.sum(axis=-1, keepdims=True), 0.0)
        with np.errstate(divide="ignore"):
            return np.log(mu_arr) - np.log(p0)

    def dual_log_partition(self, mu: ArrayLike) -> FloatArray:
        mu_arr = as_float(mu)
        p0 = np.maximum(1.0 - mu_arr.sum(axis=-1), 0.0)  # ≥ 0 against rounding
        return _xlogx(mu_arr).sum(axis=-1) + _xlogx(p0)

    # -- base measure, support, start ----------------------------------
    def log_base_measure(self, y: ArrayLike, trials: ArrayLike | None = None) -> FloatArray:
        y_arr = np.asarray(y, dtype=np.float64)
        if y_arr.ndim < 2:
            return np.zeros(y_arr.shape, dtype=np.float64)
        # Decided row by row: one row of probabilities among counts must not turn
        # the multinomial coefficient off for the counts of every other row.
        soft = np.any(y_arr != np.round(y_arr), axis=-1)
        total = y_arr.sum(axis=-1)
        log_coef = special.gammaln(total + 1.0) - special.gammaln(y_arr + 1.0).sum(axis=-1)
        # Soft labels: the cross-entropy has no base measure.
        return np.where(soft, 0.0, log_coef)

    def check_support(self, y: ArrayLike, trials: ArrayLike | None = None,
                      warn: bool = True) -> None:
        y_arr = np.asarray(y, dtype=np.float64)
        if y_arr.ndim == 2:
            self._raise_outside(
                np.any(y_arr < 0, axis=1), "has a negative class count or probability",
                "give non-negative counts or probabilities per class",
            )
            self._raise_outside(
                ~(y_arr.sum(axis=1) > 0), "row sums to zero",
                "each row needs a positive total (drop empty rows)",
            )
            return
        k = self.n_classes
        upper = f"0..{k - 1}" if k else "0..K-1"
        self._raise_outside(
            (y_arr != np.round(y_arr)) | (y_arr < 0) | ((y_arr >= k) if k else False),
            f"is not a class code in {upper}", "give integer class codes",
        )

    def start_mean(self, t: FloatArray, weights: FloatArray) -> FloatArray:
        k = t.shape[-1] + 1
        w = weights[..., None]
        return (w * t + 1.0 / k) / (w + 1.0)

    def __repr__(self) -> str:
        return f"Categorical(n_classes={self.n_classes})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Categorical) and other.n_classes == self.n_classes

    def __hash__(self) -> int:
        return hash((Categorical, self.n_classes))
