"""expfam: exponential-family GLMs with inference that agrees with R and statsmodels.

>>> import expfam as ef
>>> cars = ef.datasets.load("mtcars")
>>> res = ef.GLM(cars["am"], ef.add_constant(cars[["hp", "wt"]]), family="bernoulli").fit()
>>> print(res.summary())  # doctest: +SKIP
"""

from expfam import datasets, families
from expfam.comparison.compare import Comparison, compare
from expfam.comparison.efficiency import efron_efficiency
from expfam.errors import (
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
from expfam.inference.hypotheses import lr_test
from expfam.inference.reference import change_reference
from expfam.inference.results import GLMResults
from expfam.inference.summary import Summary
from expfam.models import dask_glm as _dask_glm  # noqa: F401  (registers the Dask GLM)
from expfam.models import dask_lda as _dask_lda  # noqa: F401  (registers the Dask LDA)
from expfam.models.glm import GLM, add_constant, glm, logit
from expfam.models.lda import LDA, LDAResults, lda
from expfam.models.multinomial import mnlogit
from expfam.models.one_vs_rest import OneVsRest, one_vs_rest

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
