"""LDA fit by expfam, scikit-learn's LinearDiscriminantAnalysis and R's MASS::lda.

``python -m validation.lda_cases`` prints the comparison; ``tests/test_lda.py``
asserts it.  scikit-learn divides the pooled scatter by n (expfam's
``covariance="mle"``), R by n − K (``covariance="unbiased"``); R's output is
stored in ``validation/r/results/mass_lda_*`` by
``validation/r/mass_lda_reference.R`` (``--export`` writes its input data).
Discriminant coordinates are compared up to the sign of each axis, which no
program fixes the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

import expfam as ef

R_RESULTS = Path(__file__).parent / "r" / "results"
DATA_DIR = Path(__file__).parent / "data"
TOLERANCE = 1e-8  # relative (absolute for probabilities)


@dataclass(frozen=True)
class LDACase:
    name: str
    dataset: str
    response: str
    given_priors: tuple[float, ...]

    def data(self) -> pd.DataFrame:
        return ef.datasets.load(self.dataset)

    def split(self) -> tuple[pd.Series, pd.DataFrame]:
        data = self.data()
        return data[self.response], data.drop(columns=self.response)


CASES = {c.name: c for c in [
    LDACase("iris", "iris", "species", (0.5, 0.25, 0.25)),
    LDACase("pima", "pima", "diabetes", (0.5, 0.5)),
]}


def _difference(ours: np.ndarray, theirs: np.ndarray, relative: bool = True) -> float:
    ours, theirs = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    scale = np.maximum(np.abs(theirs), 1.0) if relative else 1.0
    return float(np.max(np.abs(ours - theirs) / scale))


def against_sklearn(case: LDACase) -> dict[str, float]:
    """Largest differences from scikit-learn's lsqr solver (and svd's transform)."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    y, x = case.split()
    res = ef.LDA(y, x).fit()
    sk = LinearDiscriminantAnalysis(solver="lsqr").fit(x, y)
    coef = np.atleast_2d(sk.coef_)
    intercept = np.atleast_1d(sk.intercept_)
    if coef.shape[0] > 1:  # per-class scores: differences against the first class
        coef, intercept = coef[1:] - coef[0], intercept[1:] - intercept[0]
    implied = np.vstack([intercept, coef.T])
    svd = LinearDiscriminantAnalysis(solver="svd").fit(x, y)
    ours_t, theirs_t = res.transform(x).to_numpy(), svd.transform(x)
    return {
        "posterior": _difference(res.predict_proba(x), sk.predict_proba(x), relative=False),
        "coefficients": _difference(np.asarray(res.logistic_params()).reshape(implied.shape),
                                    implied),
        "covariance": _difference(res.covariance, sk.covariance_),
        "means": _difference(res.means, sk.means_),
        "transform (up to sign)": _difference(np.abs(ours_t), np.abs(theirs_t)),
        "predicted class": float(np.mean(res.predict(x).to_numpy() != sk.predict(x))),
    }


def against_r(case: LDACase) -> dict[str, float]:
    """Largest differences from R's MASS::lda (covariance divisor n − K)."""
    y, x = case.split()
    res = ef.LDA(y, x, covariance="unbiased").fit()

    def stored(what: str) -> pd.DataFrame:
        return pd.read_csv(R_RESULTS / f"mass_lda_{case.name}_{what}.csv")

    posterior = stored("posterior").to_numpy(dtype=float)
    given = ef.LDA(y, x, covariance="unbiased", priors=list(case.given_priors)).fit()
    r_x = stored("x").to_numpy(dtype=float)
    return {
        "posterior": _difference(res.predict_proba(x), posterior, relative=False),
        "posterior, given priors": _difference(given.predict_proba(x),
                                               stored("prior_given_posterior"), False),
        "means": _difference(res.means, stored("means").select_dtypes("number")),
        "prior": _difference(res.priors, stored("prior").select_dtypes("number").iloc[:, 0]),
        "covariance": _difference(res.covariance,
                                  stored("covariance").select_dtypes("number")),
        "transform (up to sign)": _difference(np.abs(res.transform(x)), np.abs(r_x)),
    }


def compare(case: LDACase) -> pd.DataFrame:
    rows = [{"reference": ref, "quantity": q, "difference": d}
            for ref, found in (("sklearn (mle)", against_sklearn(case)),
                               ("R MASS::lda (unbiased)", against_r(case)))
            for q, d in found.items()]
    table = pd.DataFrame(rows)
    table["ok"] = table["difference"] <= TOLERANCE
    return table


def export() -> None:
    """Write each case's data to ``validation/data/mass_lda_<name>.csv`` for R."""
    for case in CASES.values():
        case.data().to_csv(DATA_DIR / f"mass_lda_{case.name}.csv", index=False)


def main() -> None:
    import sys

    if "--export" in sys.argv:
        export()
        return
    tables = {name: compare(case) for name, case in CASES.items()}
    full = pd.concat(tables, names=["case"]).droplevel(1)
    with pd.option_context("display.width", 160, "display.float_format", "{:.1e}".format):
        print(full.to_string())
    print(f"\n{len(full)} comparisons, {int((~full['ok']).sum())} above {TOLERANCE:g}")


if __name__ == "__main__":
    main()
