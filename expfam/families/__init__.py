"""Exponential families: Bernoulli, binomial, categorical, Poisson and Gaussian.

Each family states T(y), A(η), ∇A(η), ∇²A(η), the inverse of ∇A and log h(y);
see :class:`ExponentialFamily` for what is derived from them.
"""

from __future__ import annotations

from expfam.families.base import ExponentialFamily
from expfam.families.binomial import Bernoulli, Binomial
from expfam.families.categorical import Categorical
from expfam.families.gaussian import Gaussian
from expfam.families.poisson import Poisson

__all__ = [
    "Bernoulli",
    "Binomial",
    "Categorical",
    "ExponentialFamily",
    "Gaussian",
    "Poisson",
    "get_family",
]

_BY_NAME: dict[str, type[ExponentialFamily]] = {
    "bernoulli": Bernoulli,
    "logit": Bernoulli,
    "binomial": Binomial,
    "categorical": Categorical,
    "multinomial": Categorical,
    "poisson": Poisson,
    "gaussian": Gaussian,
    "normal": Gaussian,
}


def get_family(family: str | ExponentialFamily | type[ExponentialFamily]) -> ExponentialFamily:
    """Return a family instance from a name (``"bernoulli"``, …), a class or an instance."""
    from expfam.errors import InputError

    if isinstance(family, ExponentialFamily):
        return family
    if isinstance(family, type) and issubclass(family, ExponentialFamily):
        return family()
    if isinstance(family, str) and family.lower() in _BY_NAME:
        return _BY_NAME[family.lower()]()
    raise InputError(f"unknown family {family!r}; use one of: {', '.join(sorted(_BY_NAME))}")
