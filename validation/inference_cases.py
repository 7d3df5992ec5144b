"""The data and R output behind tests/test_toolkit_*.py (validation/r/inference_reference.R).

Factor levels are set in R's order (the order the R script gives), so that
treatment contrasts and coefficient names line up.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import expfam as ef

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "r" / "results"


def load_r(name: str) -> pd.DataFrame:
    """validation/r/results/inference_<name>.csv with numbers parsed (R's format()
    pads them, and writes NA), the ``term`` column as the index if there is one."""
    raw = pd.read_csv(RESULTS / f"inference_{name}.csv", dtype=str, keep_default_na=False)
    frame = raw.apply(_numbers)
    return frame.set_index("term") if "term" in frame else frame


def _numbers(column: pd.Series) -> pd.Series:
    """A column of numbers (NA as NaN), or left as text if it is labels."""
    text = column.str.strip()
    values = pd.to_numeric(text.replace("NA", "nan"), errors="coerce")
    return column if column.name == "term" or values.isna().gt(text.eq("NA")).any() else values


def warpbreaks() -> pd.DataFrame:
    data = ef.datasets.load("warpbreaks")
    data["tension"] = pd.Categorical(data["tension"], ["L", "M", "H"])
    return data


def ucb() -> pd.DataFrame:
    data = ef.datasets.load("ucb_admissions")
    data["gender"] = pd.Categorical(data["gender"], ["Male", "Female"])
    return data.assign(applicants=data["admitted"] + data["rejected"])


def insurance() -> pd.DataFrame:
    return pd.read_csv(ROOT / "data" / "inference_insurance.csv")


def mass_lda(name: str) -> pd.DataFrame:
    return pd.read_csv(ROOT / "data" / f"mass_lda_{name}.csv")
