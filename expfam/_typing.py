"""Type aliases shared across the package."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

#: A floating-point array (float64 in the solvers; float32 allowed in families).
FloatArray = NDArray[np.floating[Any]]

#: A boolean mask.
BoolArray = NDArray[np.bool_]
