"""QDA fit by expfam against R's MASS::qda and scikit-learn's QuadraticDiscriminantAnalysis.

``python -m validation.qda_cases`` prints the comparison; ``tests/test_qda.py``
asserts it.  R divides each class scatter by n_k − 1 (expfam's
``covariance="unbiased"``); scikit-learn (1.9) by n_k (``"mle"``).  R's output is stored in
``validation/r/results/mass_qda_*`` by ``validation/r/mass_qda_reference.R``,
which reads the same inputs as the LDA cases (``validation/data/mass_lda_*``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import expfam as ef
from validation.lda_cases import CASES, LDACase

R_RESULTS = Path(__file__).parent / "r" / "results"
TOLERANCE = 1e-8  # relative (absolute for probabilities)


def _difference(ours: np.ndarray, theirs: np.ndarray) -> float:
    ours, theirs = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    return float(np.max(np.abs(ours - theirs) / np.maximum(np.abs(theirs), 1.0)))


def against_r(case: LDACase) -> dict[str, float]:
    """Largest differences from MASS::qda's stored output."""
    y, x = case.split()
    res = ef.QDA(y, x, covariance="unbiased").fit()
    given = ef.QDA(y, x, covariance="unbiased", priors=list(case.given_priors)).fit()

    def read(what: str) -> pd.DataFrame:
        return pd.read_csv(R_RESULTS / f"mass_qda_{case.name}_{what}.csv")

    out = {
        "prior": _difference(res.priors, read("prior")["prior"]),
        "means": _difference(res.means, read("means").drop(columns="class")),
        "posterior": _difference(res.predict_proba(x), read("posterior")),
        "posterior (given priors)": _difference(given.predict_proba(x),
                                                read("prior_given_posterior")),
    }
    # MASS keeps the log determinant of each class covariance ("ldet").
    log_det = [np.linalg.slogdet(c.to_numpy())[1] for c in res.covariances.values()]
    out["ldet"] = _difference(log_det, read("ldet")["ldet"])
    out["covariances"] = max(_difference(res.covariances[label], read(f"covariance_{label}"))
                             for label in res.covariances)
    return out


def against_sklearn(case: LDACase) -> dict[str, float]:
    from sklearn.discriminant_analysis import QuadraticDiscriminantAnalysis

    y, x = case.split()
    res = ef.QDA(y, x).fit()
    sk = QuadraticDiscriminantAnalysis(store_covariance=True).fit(x, y)
    return {"posterior": _difference(res.predict_proba(x), sk.predict_proba(x)),
            "covariances": max(_difference(c, s) for c, s in
                               zip(res.covariances.values(), sk.covariance_, strict=True))}


def compare(case: LDACase) -> pd.DataFrame:
    rows = [{"reference": ref, "quantity": q, "difference": d, "ok": d < TOLERANCE}
            for ref, found in (("R MASS::qda", against_r(case)),
                               ("sklearn (mle)", against_sklearn(case)))
            for q, d in found.items()]
    return pd.DataFrame(rows)


if __name__ == "__main__":
    for name, case in CASES.items():
        print(name)
        print(compare(case).to_string(index=False))
