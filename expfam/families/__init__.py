"""Exponential families: Bernoulli, binomial, categorical, Poisson, Gaussian, Gamma,
inverse Gaussian and negative binomial, and the links a GLM may put on them.

Each family states T(y), A(η), ∇A(η), ∇²A(η), the inverse of ∇A and log h(y);
see :class:`ExponentialFamily` for what is derived from them, and
:mod:`expfam.families.linked` for a family under a non-canonical link.
"""

from __future__ import annotations

from expfam.families.base import ExponentialFamily
from expfam.families.binomial import Bernoulli, Binomial
from expfam.families.categorical import Categorical
from expfam.families.gamma import Gamma
from expfam.families.gaussian import Gaussian
from expfam.families.inverse_gaussian import InverseGaussian
from expfam.families.linked import LinkedFamily, with_link
from expfam.families.links import LINKS, Link, get_link
from expfam.families.negative_binomial import NegativeBinomial
from expfam.families.poisson import Poisson

__all__ = [
    "LINKS",
    "Bernoulli",
    "Binomial",
    "Categorical",
    "ExponentialFamily",
    "Gamma",
    "Gaussian",
    "InverseGaussian",
    "Link",
    "LinkedFamily",
    "NegativeBinomial",
    "Poisson",
    "get_family",
    "get_link",
    "with_link",
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
    "gamma": Gamma,
    "inverse_gaussian": InverseGaussian,
    "inverse.gaussian": InverseGaussian,
    "negative_binomial": NegativeBinomial,
    "negbin": NegativeBinomial,
    "nb": NegativeBinomial,
}


def get_family(family: str | ExponentialFamily | type[ExponentialFamily],
               link: str | Link | None = None) -> ExponentialFamily:
    """A family instance from a name (``"bernoulli"``, ``"gamma"``, …), a class or an
    instance, with ``link`` (default: the family's canonical or usual link).

    For the family's natural link the family itself is returned (the fast
    canonical path); for another link a :class:`LinkedFamily`.
    """
    from expfam.errors import InputError

    if isinstance(family, ExponentialFamily):
        found = family
    elif isinstance(family, type) and issubclass(family, ExponentialFamily):
        found = family()
    elif isinstance(family, str) and family.lower() in _BY_NAME:
        found = _BY_NAME[family.lower()]()
    else:
        raise InputError(f"unknown family {family!r}; use one of: {', '.join(sorted(_BY_NAME))}")
    return with_link(found, link)
