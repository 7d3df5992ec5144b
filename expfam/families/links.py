"""Link functions: the map g from the mean μ to the linear predictor η = Xβ.

A link states g(μ), its inverse μ = g⁻¹(η), the derivative dμ/dη and the
second derivative d²μ/dη² (the last only for the observed information).  The
family's natural parameter θ(μ) is a separate map: the link is *canonical*
when g = θ (up to an affine change), and only then is the score Xᵀ(t − μ).

The clamps follow R's ``make.link`` and ``binomial()``: probabilities from the
probit, cloglog and cauchit links stay within machine ε of 0 and 1, and
dμ/dη never falls below ε, so a working weight never divides by zero.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike
from scipy import special, stats

from expfam._typing import FloatArray

__all__ = ["LINKS", "Link", "get_link"]

EPS = float(np.finfo(np.float64).eps)


def _f(x: ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


class Link(ABC):
    """g: mean → linear predictor, with g⁻¹ and its first two derivatives."""

    #: The name R uses (``binomial(link = "probit")``).
    name: ClassVar[str]

    @abstractmethod
    def link(self, mu: ArrayLike) -> FloatArray:
        """η = g(μ)."""

    @abstractmethod
    def inverse(self, eta: ArrayLike) -> FloatArray:
        """μ = g⁻¹(η)."""

    @abstractmethod
    def mu_eta(self, eta: ArrayLike) -> FloatArray:
        """dμ/dη at η (R's ``mu.eta``)."""

    @abstractmethod
    def mu_eta2(self, eta: ArrayLike) -> FloatArray:
        """d²μ/dη² at η, for the observed information."""

    def valid_eta(self, eta: FloatArray) -> np.ndarray:
        """Rows where g⁻¹ is defined (R's ``valideta``): all, for most links."""
        return np.isfinite(eta)

    def __repr__(self) -> str:
        return f"Link({self.name!r})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(type(self))


class Logit(Link):
    name = "logit"

    def link(self, mu: ArrayLike) -> FloatArray:
        return special.logit(_f(mu))

    def inverse(self, eta: ArrayLike) -> FloatArray:
        return special.expit(_f(eta))

    def mu_eta(self, eta: ArrayLike) -> FloatArray:
        e = _f(eta)
        return special.expit(e) * special.expit(-e)

    def mu_eta2(self, eta: ArrayLike) -> FloatArray:
        e = _f(eta)
        return self.mu_eta(e) * (special.expit(-e) - special.expit(e))


# Beyond ±8.1 the normal tail is below ε: R clamps η there (binomial probit).
_PROBIT_LIMIT = -float(stats.norm.ppf(EPS))


class Probit(Link):
    name = "probit"

    def link(self, mu: ArrayLike) -> FloatArray:
        return special.ndtri(_f(mu))

    def inverse(self, eta: ArrayLike) -> FloatArray:
        return special.ndtr(np.clip(_f(eta), -_PROBIT_LIMIT, _PROBIT_LIMIT))

    def mu_eta(self, eta: ArrayLike) -> FloatArray:
        e = _f(eta)
        return np.maximum(np.exp(-0.5 * e * e) / np.sqrt(2 * np.pi), EPS)

    def mu_eta2(self, eta: ArrayLike) -> FloatArray:
        e = _f(eta)
        return -e * np.exp(-0.5 * e * e) / np.sqrt(2 * np.pi)


class CLogLog(Link):
    name = "cloglog"

    def link(self, mu: ArrayLike) -> FloatArray:
        return np.log(-np.log1p(-_f(mu)))

    def inverse(self, eta: ArrayLike) -> FloatArray:
        with np.errstate(over="ignore"):
            mu = -np.expm1(-np.exp(_f(eta)))
        return np.clip(mu, EPS, 1.0 - EPS)

    def mu_eta(self, eta: ArrayLike) -> FloatArray:
        e = np.minimum(_f(eta), 700.0)
        return np.maximum(np.exp(e - np.exp(e)), EPS)

    def mu_eta2(self, eta: ArrayLike) -> FloatArray:
        e = np.minimum(_f(eta), 700.0)
        return np.exp(e - np.exp(e)) * (1.0 - np.exp(e))


class LogLog(Link):
    """g(μ) = −log(−log μ): the mirror image of cloglog (a slow approach to 0)."""

    name = "loglog"

    def link(self, mu: ArrayLike) -> FloatArray:
        return -np.log(-np.log(_f(mu)))

    def inverse(self, eta: ArrayLike) -> FloatArray:
        e = np.maximum(_f(eta), -700.0)
        return np.clip(np.exp(-np.exp(-e)), EPS, 1.0 - EPS)

    def mu_eta(self, eta: ArrayLike) -> FloatArray:
        e = np.maximum(_f(eta), -700.0)
        return np.maximum(np.exp(-e - np.exp(-e)), EPS)

    def mu_eta2(self, eta: ArrayLike) -> FloatArray:
        e = np.maximum(_f(eta), -700.0)
        return np.exp(-e - np.exp(-e)) * np.expm1(-e)


_CAUCHIT_LIMIT = -float(stats.cauchy.ppf(EPS))


class Cauchit(Link):
    name = "cauchit"

    def link(self, mu: ArrayLike) -> FloatArray:
        return np.tan(np.pi * (_f(mu) - 0.5))

    def inverse(self, eta: ArrayLike) -> FloatArray:
        e = np.clip(_f(eta), -_CAUCHIT_LIMIT, _CAUCHIT_LIMIT)
        return 0.5 + np.arctan(e) / np.pi

    def mu_eta(self, eta: ArrayLike) -> FloatArray:
        e = _f(eta)
        return np.maximum(1.0 / (np.pi * (1.0 + e * e)), EPS)

    def mu_eta2(self, eta: ArrayLike) -> FloatArray:
        e = _f(eta)
        return -2.0 * e / (np.pi * (1.0 + e * e) ** 2)


class Log(Link):
    name = "log"

    def link(self, mu: ArrayLike) -> FloatArray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(_f(mu))

    def inverse(self, eta: ArrayLike) -> FloatArray:
        with np.errstate(over="ignore"):
            return np.maximum(np.exp(_f(eta)), EPS)

    def mu_eta(self, eta: ArrayLike) -> FloatArray:
        return self.inverse(eta)

    def mu_eta2(self, eta: ArrayLike) -> FloatArray:
        return self.inverse(eta)


class Identity(Link):
    name = "identity"

    def link(self, mu: ArrayLike) -> FloatArray:
        return _f(mu).copy()

    def inverse(self, eta: ArrayLike) -> FloatArray:
        return _f(eta).copy()

    def mu_eta(self, eta: ArrayLike) -> FloatArray:
        return np.ones_like(_f(eta))

    def mu_eta2(self, eta: ArrayLike) -> FloatArray:
        return np.zeros_like(_f(eta))


class Inverse(Link):
    name = "inverse"

    def link(self, mu: ArrayLike) -> FloatArray:
        with np.errstate(divide="ignore"):
            return 1.0 / _f(mu)

    def inverse(self, eta: ArrayLike) -> FloatArray:
        with np.errstate(divide="ignore"):
            return 1.0 / _f(eta)

    def mu_eta(self, eta: ArrayLike) -> FloatArray:
        e = _f(eta)
        with np.errstate(divide="ignore"):
            return -1.0 / (e * e)

    def mu_eta2(self, eta: ArrayLike) -> FloatArray:
        with np.errstate(divide="ignore"):
            return 2.0 / _f(eta) ** 3

    def valid_eta(self, eta: FloatArray) -> np.ndarray:
        return np.isfinite(eta) & (eta != 0)


class InverseSquare(Link):
    """g(μ) = 1/μ²: the inverse Gaussian's canonical link (up to the factor −½)."""

    name = "1/mu^2"

    def link(self, mu: ArrayLike) -> FloatArray:
        with np.errstate(divide="ignore"):
            return 1.0 / _f(mu) ** 2

    def inverse(self, eta: ArrayLike) -> FloatArray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return 1.0 / np.sqrt(_f(eta))

    def mu_eta(self, eta: ArrayLike) -> FloatArray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return -0.5 * _f(eta) ** -1.5

    def mu_eta2(self, eta: ArrayLike) -> FloatArray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return 0.75 * _f(eta) ** -2.5

    def valid_eta(self, eta: FloatArray) -> np.ndarray:
        return np.isfinite(eta) & (eta > 0)


class Sqrt(Link):
    name = "sqrt"

    def link(self, mu: ArrayLike) -> FloatArray:
        return np.sqrt(_f(mu))

    def inverse(self, eta: ArrayLike) -> FloatArray:
        e = _f(eta)
        return e * e

    def mu_eta(self, eta: ArrayLike) -> FloatArray:
        return 2.0 * _f(eta)

    def mu_eta2(self, eta: ArrayLike) -> FloatArray:
        return np.full_like(_f(eta), 2.0)

    def valid_eta(self, eta: FloatArray) -> np.ndarray:
        return np.isfinite(eta) & (eta > 0)


#: Every link by its R name.
LINKS: dict[str, type[Link]] = {cls.name: cls for cls in (
    Logit, Probit, CLogLog, LogLog, Cauchit, Log, Identity, Inverse, InverseSquare, Sqrt)}
_ALIASES = {"inverse_squared": "1/mu^2", "inverse_square": "1/mu^2",
            "inverse-square": "1/mu^2", "inverse_power": "inverse"}


def get_link(link: str | Link) -> Link:
    """A link from its R name (``"probit"``, ``"1/mu^2"``, …) or an instance."""
    from expfam.errors import InputError

    if isinstance(link, Link):
        return link
    if isinstance(link, str):
        key = _ALIASES.get(link.lower(), link.lower())
        if key in LINKS:
            return LINKS[key]()
    raise InputError(f"unknown link {link!r}; use one of: {', '.join(LINKS)}")
