"""How validation scripts measure agreement with a reference."""

from __future__ import annotations

import numpy as np

__all__ = ["relative_difference"]


def relative_difference(ours: object, theirs: object, by_row: bool = False) -> float:
    """Largest |ours − theirs| / |theirs|, elementwise; with ``by_row`` a matrix's
    entries are compared with the largest entry of their row (covariances have
    entries near zero whose relative error means nothing)."""
    a, b = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    scale = np.abs(b).max(axis=1, keepdims=True) if by_row and b.ndim == 2 else np.abs(b)
    return float(np.max(np.abs(a - b) / np.maximum(scale, 1e-300)))
