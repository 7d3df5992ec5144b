"""Profile penalized-likelihood intervals of a Firth fit on Dask (as R's ``logistf``).

As in memory (:func:`expfam.inference.hypotheses.profile_conf_int`), each end
of β_j's interval is where twice the penalized loss of the fit with β_j fixed
(the others re-estimated by Firth's method) exceeds its minimum by χ²₁(1 − α),
found by root finding from the Wald interval outwards.  Each profile point is
a Dask Firth refit with the coefficient held (a few passes: the refit starts
at the estimate), so an interval costs on the order of a hundred passes; ask
only for the ``terms`` you need.  The passes are added to the results'
:attr:`passes` and :attr:`n_passes`.

(The Newton-on-the-endpoint systems of :mod:`expfam.inference.dask_profile`
need the penalized likelihood's exact Hessian, which involves third
derivatives of the information; Firth's own iteration uses the Fisher
information instead, so the refits it is.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from expfam.backend.dask_backend import DaskBackend
from expfam.engine.solvers.dask_firth import dask_firth
from expfam.inference.hypotheses import _end, chosen_terms

if TYPE_CHECKING:
    from expfam.inference.dask_results import DaskGLMResults

__all__ = ["dask_firth_profile_conf_int"]


def dask_firth_profile_conf_int(res: DaskGLMResults, alpha: float,
                                terms: Any = None) -> pd.DataFrame:
    """Profile penalized-likelihood intervals for ``terms`` (default every coefficient)."""
    names = list(res.model.exog_names)
    wanted = chosen_terms(names, terms)
    loss_min = res.solver.penalized_loss
    assert loss_min is not None
    backend = DaskBackend(res._parts)
    beta = np.asarray(res.solver.coef, dtype=np.float64)
    bse = np.asarray(res.bse, dtype=np.float64)
    limit = float(stats.chi2.isf(alpha, 1))

    def profile(j: int) -> Any:
        def gain(b: float) -> float:
            start = beta.copy()
            start[j] = b
            fit = dask_firth(backend, len(beta), start=start, fixed=[j])
            pen = fit.solver.penalized_loss
            assert pen is not None
            return 2.0 * (pen - loss_min)

        return gain

    rows = {}
    for name in wanted:
        j = names.index(name)
        rows[name] = [_end(profile(j), beta[j], bse[j], side, limit) for side in (-1.0, 1.0)]
    res.passes.extend(backend.passes)
    res.seconds.extend(backend.seconds)
    res.n_passes += backend.n_passes
    return pd.DataFrame.from_dict(rows, orient="index", columns=["lower", "upper"])
