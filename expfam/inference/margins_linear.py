"""Average effects and their gradients in β from products with designs only.

With ω the averaging weights over the evaluation rows (frequency weights over
their sum for ``at="overall"``, a single 1 at a typical row), η = Xβ + offset
and μ = g⁻¹(η) (a scalar family; class probabilities p(η) for a categorical
model, η of shape (n, m)):

* a discrete change from design X⁰ to X¹ averages to
  E = Σ ωᵢ (μ(η¹ᵢ) − μ(η⁰ᵢ)), with gradient ∇E = X¹ᵀ(ω·μ'(η¹)) − X⁰ᵀ(ω·μ'(η⁰));
* a derivative in a numeric variable v, with X⁺ and X⁻ the designs at
  v ± h and s = (X⁺β − X⁻β)/2h the slope dη/dv (a central difference, exact
  for polynomial terms up to rounding), averages to E = Σ ωᵢ μ'(ηᵢ) sᵢ, with
  ∇E = Xᵀ(ω·μ''(η)·s) + (X⁺ᵀ(ω·μ'/2h) − X⁻ᵀ(ω·μ'/2h)).

For a categorical model μ' is the (K, m) Jacobian D of the probabilities in
η and the second-order term is the derivative of D along s,
T_cl = q_c (δ_{c,l} − p_l) − p_c q_l with q = D s (l the class of η_l).

Every design enters only through Xβ and Xᵀr (``matvec``/``rmatvec`` of a
:class:`~expfam.design.matrix.StructuredDesign`: a gather and a grouped sum
for a factor), and differences are taken of those products: no factor is
written out as dummy columns, and each gradient is exact (where the former
numerical Jacobian in β needed 2p evaluations of every effect).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from expfam._typing import FloatArray
from expfam.design.matrix import StructuredDesign
from expfam.design.parts import DenseColumns, FactorColumns
from expfam.inference.link_scale import mean_derivative, mean_of, mean_second_derivative

if TYPE_CHECKING:
    from expfam.inference.results import GLMResults

__all__ = ["Design", "Linear", "Point"]

Design = FloatArray | StructuredDesign


@dataclass(frozen=True)
class Point:
    """A design with its linear predictor, mean and dμ/dη at the coefficients."""

    x: Design
    eta: FloatArray  # (n,) or (n, m), offset included
    mean: FloatArray  # (n,) or (n, K)
    slope: FloatArray  # dμ/dη: (n,) or (n, K, m)


@dataclass(frozen=True)
class Linear:
    """The products an average effect needs, at the fitted coefficients.

    Parameters
    ----------
    res : GLMResults
    coef : ndarray, shape (p,) or (p, m)
        Coefficients, aliased ones 0.
    offset : ndarray, shape (n,) or (n, m), or None
    weights : ndarray, shape (n,)
        The averaging weights ω over the evaluation rows.
    """

    res: GLMResults
    coef: FloatArray
    offset: FloatArray | None
    weights: FloatArray

    def linear(self, x: Design, coef: FloatArray | None = None) -> FloatArray:
        """Xβ (or X times ``coef``), without the offset."""
        coef = self.coef if coef is None else coef
        return x.matvec(coef) if isinstance(x, StructuredDesign) else x @ coef

    def transposed(self, x: Design, r: FloatArray) -> FloatArray:
        """Xᵀr for r of shape (n,) or (n, c)."""
        return x.rmatvec(r) if isinstance(x, StructuredDesign) else x.T @ r

    def point(self, x: Design) -> Point:
        eta = self.linear(x)
        if self.offset is not None:
            eta = eta + self.offset
        return Point(x, eta, mean_of(self.res, eta), mean_derivative(self.res, eta))

    def _gradient(self, x: Design, per_row: FloatArray) -> FloatArray:
        """Xᵀ(ω·r): (p,) for r (n,), (p, K, m) for r (n, K, m)."""
        r = self.weights.reshape(-1, *[1] * (per_row.ndim - 1)) * per_row
        if r.ndim == 1:
            return self.transposed(x, r)
        n, k, m = r.shape
        return self.transposed(x, r.reshape(n, k * m)).reshape(-1, k, m)

    def level(self, x: Design) -> tuple[FloatArray, FloatArray]:
        """Σ ω μ at design ``x`` and its gradient in β (one side of a change)."""
        at = self.point(x)
        return self.weights @ at.mean, self._gradient(x, at.slope)

    def slope(self, at: Point, up: Design, down: Design,
              width: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Σ ω dμ/dv at ``at``, from the designs at v ± h (``width`` = 2h per
        row), and its gradient in β."""
        # Only the columns that move with v enter the difference: the others
        # (the intercept, other variables) would add their rounding to dη/dv.
        moving = _changed_columns(up, down)
        coef = (self.coef.T * moving).T
        s = self.linear(up, coef) - self.linear(down, coef)
        s = (s.T / width).T  # dη/dv
        d = at.slope
        second: FloatArray
        if d.ndim == 1:
            change = np.asarray(d * s, dtype=np.float64)
            second = np.asarray(mean_second_derivative(self.res, at.eta) * s, dtype=np.float64)
        else:
            change = np.asarray(np.einsum("icj,ij->ic", d, s), dtype=np.float64)
            second = self._softmax_second(at.mean, change)
        per_unit = (d.T / width).T  # μ' / 2h: the X⁺ and X⁻ terms
        moved = self._gradient(up, per_unit) - self._gradient(down, per_unit)
        moved[~moving] = 0.0  # exactly: their X⁺ and X⁻ columns are the same
        grad = self._gradient(at.x, second) + moved
        return self.weights @ change, grad

    def _softmax_second(self, prob: FloatArray, q: FloatArray) -> FloatArray:
        """T_icl = q_ic (δ_{c,l} − p_il) − p_ic q_il, (n, K, m): the derivative of
        the probabilities' Jacobian along the slope (q = D s, user's class order)."""
        classes = self.res.model.classes
        assert classes is not None
        labels = list(classes.labels)
        cols = [labels.index(c) for c in classes.others]  # η_l's class position
        out = -q[:, :, None] * prob[:, None, cols] - prob[:, :, None] * q[:, None, cols]
        for j, c in enumerate(cols):
            out[:, c, j] += q[:, c]
        return out

    def flat(self, grad: FloatArray) -> FloatArray:
        """Gradient rows in the flat (class-major) coefficients: (1, p) for a
        scalar family, (K, m·p) from a (p, K, m) gradient."""
        if grad.ndim == 1:
            return grad[None, :]
        p, k, m = grad.shape
        return grad.transpose(1, 2, 0).reshape(k, m * p)


def _changed_columns(a: Design, b: Design) -> np.ndarray:
    """Which columns differ between two designs of the same rows, shape (p,)
    (compared part by part: a factor's codes and multipliers, never its dummies)."""
    if not isinstance(a, StructuredDesign) or not isinstance(b, StructuredDesign):
        return np.asarray(np.any(np.asarray(a) != np.asarray(b), axis=0))
    out = np.ones(a.n_cols, dtype=bool)
    if len(a.parts) != len(b.parts):
        return out
    for pa, pb, cols in zip(a.parts, b.parts, a.columns, strict=True):
        if isinstance(pa, DenseColumns) and isinstance(pb, DenseColumns):
            out[cols] = np.any(pa.values != pb.values, axis=0)
        elif isinstance(pa, FactorColumns) and isinstance(pb, FactorColumns):
            same = np.array_equal(pa.codes, pb.codes) and (
                (pa.values is None and pb.values is None) or (
                    pa.values is not None and pb.values is not None
                    and np.array_equal(pa.values, pb.values)))
            out[cols] = not same
    return out
