"""Data for the R comparison of robust and cluster covariances with a many-level
factor (validation/r/robust_factor_reference.R).

    python -m validation.robust_factor_cases --export   # writes validation/data/robust_factor.csv

A Poisson regression with an exposure offset, two numeric predictors and a
factor of 300 levels (10 rows each, every level with a positive count, so no
level is separated), and 60 clusters that cut across the levels.  expfam holds
the factor as codes and forms the sandwich by the Schur complement's pieces
(expfam/inference/robust_arrow.py); R's ``sandwich`` works on 299 dummy columns.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

PATH = Path(__file__).parent / "data" / "robust_factor.csv"
FORMULA = "y ~ x1 + x2 + g + offset(np.log(exposure))"


def robust_factor(levels: int = 300, per_level: int = 10, clusters: int = 60,
                  seed: int = 12) -> pd.DataFrame:
    """The data set (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    n = levels * per_level
    codes = np.repeat(np.arange(levels), per_level)
    df = pd.DataFrame({"x1": np.round(rng.normal(size=n), 6),
                       "x2": np.round(rng.uniform(0, 2, n), 6),
                       "exposure": np.round(rng.uniform(0.5, 3.0, n), 6),
                       "g": [f"s{c:04d}" for c in codes],
                       "cl": rng.integers(0, clusters, n)})
    eta = (0.3 + 0.5 * df.x1 - 0.3 * df.x2 + np.log(df.exposure)
           + rng.normal(0, 0.5, levels)[codes])
    # Overdispersed counts, so that the robust errors differ from the model's.
    y = rng.poisson(np.exp(eta) * rng.gamma(2.0, 0.5, n))
    y[::per_level] += 1  # a positive count at every level
    df["y"] = y
    return df


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--export", action="store_true")
    args = parser.parse_args()
    if args.export:
        robust_factor().to_csv(PATH, index=False)
        print(f"wrote {PATH}")


if __name__ == "__main__":
    main()
