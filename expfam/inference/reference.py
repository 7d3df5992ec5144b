"""A multinomial fit expressed against another reference class, without refitting."""

from __future__ import annotations

import copy
import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np

from expfam.design.response import Classes
from expfam.errors import InputError

if TYPE_CHECKING:
    from expfam.inference.results import GLMResults
    from expfam.inference.separation import Separation
    from expfam.models.glm import GLM

__all__ = ["change_reference"]


def _transform(classes: Classes, new_reference: Any) -> np.ndarray:
    """A: the (K − 1)² map from coefficients against ``classes.reference`` (columns in
    ``classes.internal[1:]`` order) to coefficients against ``new_reference``."""
    m = len(classes.labels) - 1
    old = list(classes.internal)
    new = Classes(classes.labels, new_reference)
    a = np.zeros((m, m))
    pivot = old.index(new_reference) - 1  # column of the new reference among the old
    for row, label in enumerate(new.internal[1:]):
        if label != classes.reference:  # β'_c = β_c − β_new
            a[row, old.index(label) - 1] = 1.0
        a[row, pivot] -= 1.0  # and for the old reference, β' = −β_new
    return a


def _reexpressed_model(model: GLM, reference: Any, a: np.ndarray) -> GLM:
    """The model with its response's columns (or codes) and offset against ``reference``."""
    classes = model.classes
    assert classes is not None
    new_model = copy.copy(model)
    new_model.classes = Classes(classes.labels, reference)
    order = [classes.internal.index(c) for c in new_model.classes.internal]
    new_model.endog = (model.endog[:, order] if model.endog.ndim == 2
                       else np.argsort(order)[model.endog.astype(np.int64)].astype(float))
    if model.offset is not None:
        new_model.offset = model.offset @ a.T  # the offset is part of η, which maps like β
    return new_model


def _reexpressed_separation(separation: Separation | None,
                            a: np.ndarray) -> Separation | None:
    """The separation check's finding with its direction in the new coefficients
    (rows and terms involved do not depend on the reference)."""
    if separation is None or np.ndim(separation.direction) < 2:
        return separation
    return dataclasses.replace(separation, direction=separation.direction @ a.T)


def change_reference(res: GLMResults, reference: Any) -> GLMResults:
    """The same multinomial fit, expressed against another reference class.

    Nothing is refitted: the coefficients of class c become β_c − β_new (the old
    reference's become −β_new), the covariance transforms with the same linear
    map, and the likelihood, fitted probabilities and every test of a whole
    model are unchanged.  The result is what a refit with ``reference=`` gives:
    the same ``cov_type`` (and clusters), the same aliased columns (NaN) and the
    same separation finding.

    Parameters
    ----------
    res : GLMResults
        A fitted categorical-family model.
    reference : label
        The new baseline class.

    Returns
    -------
    GLMResults
        ``res`` itself if ``reference`` is already its reference.
    """
    model = res.model
    classes = model.classes
    if classes is None:
        raise InputError("change_reference applies to categorical (multinomial) models")
    if reference not in classes.labels:
        raise InputError(f"reference={reference!r} is not a class; classes are "
                         f"{', '.join(map(repr, classes.labels))}")
    if reference == classes.reference:
        return res
    a = _transform(classes, reference)
    new_model = _reexpressed_model(model, reference, a)
    # θ' = T θ on coefficients flattened class by class; T is invertible (A is), and
    # its Kronecker form keeps an aliased term's zero rows of the Hessian zero.
    t_inv = np.linalg.inv(np.kron(a, np.eye(len(model.exog_names))))
    solver = dataclasses.replace(
        res.solver,
        coef=res.solver.coef @ a.T,
        eta=res.solver.eta @ a.T,
        hessian=t_inv.T @ res.solver.hessian @ t_inv,
    )
    moved = type(res)(new_model, new_model.problem(), solver, res.method,
                       cov_type=res.cov_type, groups=res._groups, aliased=res.aliased,
                       small_sample=res.small_sample, scale=res.scale_method,
                       information=res.information)
    moved.separation = _reexpressed_separation(res.separation, a)
    return moved
