"""Results of a negative binomial GLM whose shape θ was estimated (``MASS::glm.nb``).

The coefficients' standard errors are those of the GLM at θ fixed at θ̂, as
``glm.nb`` reports them; θ's standard error is from the observed information
about θ at the fitted means.  The criteria count θ as a parameter.
"""

from __future__ import annotations

from typing import Any

from scipy import stats

from expfam.inference.hypotheses import TestResult
from expfam.inference.results import GLMResults

__all__ = ["NegativeBinomialResults"]


class NegativeBinomialResults(GLMResults):
    """A :class:`GLMResults` with the estimated shape θ.

    Attributes
    ----------
    theta : float
        The maximum-likelihood θ (variance μ + μ²/θ; statsmodels' alpha = 1/θ).
    theta_se : float
        Its standard error.
    poisson_llf : float
        Log-likelihood of the Poisson fit with the same link and design.
    theta_iterations : int
        Alternations between θ and the coefficients.
    """

    theta: float
    theta_se: float
    poisson_llf: float
    theta_iterations: int

    @classmethod
    def extend(cls, res: GLMResults, theta: float, theta_se: float, poisson_llf: float,
               iterations: int) -> NegativeBinomialResults:
        """The fit at θ̂ (a GLMResults), with θ and its standard error added."""
        out: Any = cls.__new__(cls)
        out.__dict__.update(res.__dict__)
        out.theta, out.theta_se = theta, theta_se
        out.poisson_llf, out.theta_iterations = poisson_llf, iterations
        return out

    @property
    def _n_estimated(self) -> int:
        # θ counts, as in glm.nb's AIC.
        return self.n_params + 1

    def lr_test_poisson(self) -> TestResult:
        """Likelihood-ratio test of the Poisson (θ = ∞) against this model.

        The Poisson lies on the boundary of the parameter space (1/θ = 0), so
        the statistic's null distribution is the 50:50 mixture of 0 and χ²₁:
        the p-value is half the χ²₁ tail (as Stata's ``nbreg``; R's ``odTest``
        in ``pscl`` does the same).
        """
        statistic = max(2.0 * (self.llf - self.poisson_llf), 0.0)
        return TestResult("likelihood-ratio", statistic, 1.0,
                          float(0.5 * stats.chi2.sf(statistic, 1)),
                          "the Poisson model (θ = ∞); p-value halved for the boundary")

    def __repr__(self) -> str:
        return (f"<NegativeBinomialResults: θ = {self.theta:.4g} ({self.theta_se:.2g}), "
                f"{self.n_params} coefficients>")


