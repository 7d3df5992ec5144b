"""expfam: exponential-family GLMs with inference that agrees with R and statsmodels.

>>> import expfam as ef
>>> cars = ef.datasets.load("mtcars")
>>> res = ef.GLM(cars["am"], ef.add_constant(cars[["hp", "wt"]]), family="bernoulli").fit()
>>> print(res.summary())  # doctest: +SKIP
"""

from __future__ import annotations

from . import datasets, families
from .compare import Comparison, compare
from .efficiency import efron_efficiency
from .errors import (
    ConvergenceWarning,
    DataWarning,
    DomainError,
    ExpfamError,
    ExpfamWarning,
    InputError,
    NumericalError,
    RankDeficientError,
    SeparationWarning,
)
from .glm import GLM, add_constant, glm, logit
from .inference import lr_test
from .lda import LDA, LDAResults, lda
from .multinomial import OneVsRest, change_reference, mnlogit, one_vs_rest
from .results import GLMResults
from .summary import Summary

__version__ = "0.1.0"

__all__ = [
    "GLM",
    "LDA",
    "Comparison",
    "ConvergenceWarning",
    "DataWarning",
    "DomainError",
    "ExpfamError",
    "ExpfamWarning",
    "GLMResults",
    "InputError",
    "LDAResults",
    "NumericalError",
    "OneVsRest",
    "RankDeficientError",
    "SeparationWarning",
    "Summary",
    "__version__",
    "add_constant",
    "change_reference",
    "compare",
    "datasets",
    "efron_efficiency",
    "families",
    "glm",
    "lda",
    "logit",
    "lr_test",
    "mnlogit",
    "one_vs_rest",
]
