"""expfam: exponential-family GLMs with inference that agrees with R and statsmodels.

>>> import expfam as ef
>>> cars = ef.datasets.load("mtcars")
>>> res = ef.GLM(cars["am"], ef.add_constant(cars[["hp", "wt"]]), family="bernoulli").fit()
>>> print(res.summary())  # doctest: +SKIP
"""

from expfam import datasets, families
from expfam._version import __version__
from expfam.comparison.compare import Comparison, compare
from expfam.comparison.curves import plot_calibration, plot_roc
from expfam.comparison.efficiency import efron_efficiency, naive_bayes_efficiency
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
from expfam.inference.anova import anova, drop1
from expfam.inference.hypotheses import lr_test
from expfam.inference.reference import change_reference
from expfam.inference.results import GLMResults
from expfam.inference.summary import Summary
from expfam.models import dask_glm as _dask_glm  # noqa: F401  (registers the Dask GLM)
from expfam.models import dask_lda as _dask_lda  # noqa: F401  (registers the Dask LDA)
from expfam.models.glm import GLM, add_constant, glm, logit
from expfam.models.lda import LDA, LDAResults, lda
from expfam.models.multinomial import mnlogit
from expfam.models.naive_bayes import NaiveBayes, NaiveBayesResults, naive_bayes
from expfam.models.one_vs_rest import OneVsRest, one_vs_rest
from expfam.models.qda import QDA, QDAResults, qda, rda

__all__ = [
    "GLM",
    "LDA",
    "QDA",
    "Comparison",
    "ConvergenceWarning",
    "DataWarning",
    "DomainError",
    "ExpfamError",
    "ExpfamWarning",
    "GLMResults",
    "InputError",
    "LDAResults",
    "NaiveBayes",
    "NaiveBayesResults",
    "NumericalError",
    "OneVsRest",
    "QDAResults",
    "RankDeficientError",
    "SeparationWarning",
    "Summary",
    "__version__",
    "add_constant",
    "anova",
    "change_reference",
    "compare",
    "datasets",
    "drop1",
    "efron_efficiency",
    "families",
    "glm",
    "lda",
    "logit",
    "lr_test",
    "mnlogit",
    "naive_bayes",
    "naive_bayes_efficiency",
    "one_vs_rest",
    "plot_calibration",
    "plot_roc",
    "qda",
    "rda",
]
