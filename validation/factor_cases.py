"""Data for the R comparison of a many-level factor (validation/r/factor_reference.R).

    python -m validation.factor_cases --export   # writes validation/data/factor_many_levels.csv

A logistic regression with two numeric predictors and a factor of 600 levels,
25 rows each, every level with both outcomes (so no level is separated and R's
``glm`` estimates are finite); expfam holds the factor as codes and solves by
the Schur complement, R expands it into 599 dummy columns.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

PATH = Path(__file__).parent / "data" / "factor_many_levels.csv"
FORMULA = "y ~ x1 + x2 + g"


def many_levels(levels: int = 600, per_level: int = 25, seed: int = 12) -> pd.DataFrame:
    """The data set (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    n = levels * per_level
    codes = np.repeat(np.arange(levels), per_level)
    df = pd.DataFrame({"x1": np.round(rng.normal(size=n), 6),
                       "x2": np.round(rng.uniform(0, 2, n), 6),
                       "g": [f"s{c:04d}" for c in codes]})
    eta = -0.2 + 0.7 * df.x1 - 0.4 * df.x2 + rng.normal(0, 0.6, levels)[codes]
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    y[::per_level] = 0  # both outcomes at every level
    y[1::per_level] = 1
    df["y"] = y
    return df


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--export", action="store_true")
    args = parser.parse_args()
    if args.export:
        many_levels().to_csv(PATH, index=False)
        print(f"wrote {PATH}")


if __name__ == "__main__":
    main()
