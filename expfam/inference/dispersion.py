"""Quasi-likelihood dispersion: ``fit(scale="X2" | "dev" | number)``.

For the families whose dispersion is fixed at 1 (Bernoulli, binomial,
categorical, Poisson), overdispersed data keep the maximum-likelihood
estimates but need wider standard errors: R's quasibinomial and quasipoisson
multiply the covariance by φ̂ = Pearson χ² / df_resid and test with t on
df_resid; φ̂ = deviance / df_resid is the other common estimate, and a number
fixes φ (R's ``summary(fit, dispersion = φ)``, tested with z).  A quasi model
has no likelihood, so the log-likelihood, AIC, BIC and likelihood-ratio
statistics are NaN (R prints NA).
"""

from __future__ import annotations

import numbers

import numpy as np

from expfam.errors import InputError
from expfam.families import ExponentialFamily

__all__ = ["SCALES", "check_scale"]

SCALES = ("X2", "dev")


def check_scale(family: ExponentialFamily, scale: str | float | None) -> str | float | None:
    """The validated ``scale=`` of a fit: None, "X2", "dev" or a positive float."""
    if scale is None:
        return None
    if family.estimated_dispersion:
        raise InputError(f"scale= is for families with a fixed dispersion; the {family.name} "
                         "family's dispersion is already estimated (from the Pearson "
                         "statistic); drop scale=")
    if isinstance(scale, str):
        if scale not in SCALES:
            raise InputError(f"scale must be 'X2' (Pearson), 'dev' (deviance) or a positive "
                             f"number; got {scale!r}")
        return scale
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real) or not (
            np.isfinite(scale) and scale > 0):
        raise InputError(f"scale must be 'X2', 'dev' or a positive number; got {scale!r}")
    return float(scale)


def quasi_note(scale_method: str | float, scale: float) -> str:
    """The summary's note on a quasi-likelihood fit."""
    how = {"X2": "Pearson chi2 / df_resid", "dev": "deviance / df_resid"}.get(
        str(scale_method), "given")
    return (f"Quasi-likelihood: dispersion {scale:.6g} ({how}) scales the standard errors; "
            "the log-likelihood, AIC, BIC and LR test are not defined (NaN).")
