"""A fitted GLM saved as JSON, and applied to new data (``expfam predict``).

The file holds what prediction needs and nothing of the training data: the
formula (or the predictor columns), the family and link, the coefficients,
the levels of every categorical column the formula saw and the state its
transforms learnt (``center(x)``'s mean), so that the design for new rows has
exactly the training columns (a level not seen in fitting is an error naming
it).  Saving checks that the file rebuilds the training design.  Predictions
are computed by the family's own mean function, as :meth:`GLMResults.predict`
computes them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from formulaic import ModelSpec

from expfam._typing import FloatArray
from expfam._version import __version__
from expfam.design.layout import Layout
from expfam.design.matrix import StructuredDesign
from expfam.design.response import Classes
from expfam.errors import ExpfamError, label
from expfam.families import ExponentialFamily, get_family
from expfam.inference.results import GLMResults

__all__ = ["SavedModel", "load_model", "save_model"]

FORMAT = "expfam-glm"
FORMAT_VERSION = 1


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def save_model(res: GLMResults, path: str, data: pd.DataFrame | None = None,
               offset_column: str | None = None) -> None:
    """Write what :func:`load_model` needs to predict as ``res.predict`` does.

    Given the training ``data``, first check that the file rebuilds the
    training design from them (and refuse to save a model it cannot).  A model
    fitted from columns (not a formula) with an offset names its column in
    ``offset_column``, for new data to supply.
    """
    model = res.model
    terms = model.formula
    if terms is not None and terms.offset_terms:
        raise ExpfamError("cannot save a model whose formula has offset(...) terms yet: "
                          "put the offset in a column and pass it with --offset")
    record: dict[str, Any] = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "expfam_version": __version__,
        "family": model.family.name, "link": getattr(model.family, "link_name", None),
        "columns": list(model.exog_names),
        # Aliased coefficients are NaN in params and 0 in the fit's η: save the latter.
        "coef": np.nan_to_num(np.asarray(res.params, dtype=np.float64)).tolist(),
        "classes": None if model.classes is None else [_plain(c) for c in
                                                       model.classes.labels],
        "reference": None if model.classes is None else _plain(model.classes.reference),
        "formula": None, "levels": {}, "coded_levels": {}, "offset_column": None,
    }
    if terms is not None:
        record.update(
            formula=terms.formula,
            rhs=terms.formula.split("~", 1)[1].strip(),
            variables=list(terms.variables),
            levels={c: [_plain(v) for v in lv] for c, lv in terms.levels.items()},
            coded_levels={c: [_plain(v) for v in lv]
                          for c, lv in terms._coded_levels().items()},
            # What transforms such as center(x) learnt from the training rows.
            transform_state=_encode(dict(terms.spec.transform_state)),
            offset_column=terms.offset_column)
    elif model.offset is not None:
        if offset_column is None:
            raise ExpfamError("cannot save a model fitted with an offset array: new data "
                              "could not supply it; fit with the offset as a column")
        record["offset_column"] = offset_column
    if data is not None:
        _check_round_trip(SavedModel(record), res, data)
    Path(path).write_text(json.dumps(record, indent=1) + "\n")


def _check_round_trip(saved: SavedModel, res: GLMResults, data: pd.DataFrame) -> None:
    """Refuse to save a model whose design the file cannot rebuild: the training
    rows, read back through it, must give the training design."""
    rows = data if res.model.row_index is None else data.loc[res.model.row_index]
    try:
        rebuilt, _ = saved.design(rows)
    except ExpfamError as err:
        raise ExpfamError(f"cannot save this model: {err}") from None
    exog = res.model.exog
    fitted = exog.dense() if isinstance(exog, StructuredDesign) else exog
    if rebuilt.shape != fitted.shape or not np.allclose(
            rebuilt, fitted, rtol=1e-12, atol=0.0, equal_nan=True):
        raise ExpfamError("cannot save this model: its formula's columns cannot be rebuilt "
                          "from the saved file (a transform whose state is not kept); "
                          "compute those columns in the data instead")


def _encode(value: Any) -> Any:
    """JSON for a transform's state: arrays tagged so that they come back as arrays."""
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: _encode(v) for k, v in value.items()}
        # Keys that are not strings (poly()'s integer degrees) survive as pairs.
        return {"__items__": [[_plain(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist()}
    return _plain(value)


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__ndarray__"}:
            return np.asarray(value["__ndarray__"])
        if set(value) == {"__items__"}:
            return {k: _decode(v) for k, v in value["__items__"]}
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


@dataclass(frozen=True)
class SavedModel:
    """A model read by :func:`load_model`."""

    record: dict[str, Any]

    @property
    def family(self) -> ExponentialFamily:
        return get_family(self.record["family"], self.record.get("link"))

    def design(self, data: pd.DataFrame) -> tuple[FloatArray, FloatArray | None]:
        """The design of new rows (the training columns) and their offset; a row
        with a missing value is NaN throughout."""
        x, offset = self._design(data)
        used = self.record.get("variables") or [c for c in self.record["columns"]
                                                if c != "const"]
        missing = data[used].isna().any(axis=1).to_numpy()
        x[missing] = np.nan
        return x, offset

    def _design(self, data: pd.DataFrame) -> tuple[FloatArray, FloatArray | None]:
        rec = self.record
        offset = None
        if rec.get("offset_column"):
            if rec["offset_column"] not in data.columns:
                raise ExpfamError(f"the model's offset is the column "
                                  f"{rec['offset_column']!r}, which the new data lack")
            offset = data[rec["offset_column"]].to_numpy(dtype=np.float64)
        if rec.get("formula") is None:
            names = [c for c in rec["columns"] if c != "const"]
            _require(data, names)
            x = data[names].to_numpy(dtype=np.float64)
            if "const" in rec["columns"]:
                x = np.column_stack([np.ones(len(x)), x])
            return x, offset
        _require(data, rec["variables"])
        frame = data[rec["variables"]].copy()
        for column, levels in {**rec["coded_levels"], **rec["levels"]}.items():
            values = frame[column]
            unseen = values.notna() & ~values.isin(levels)
            if unseen.any():
                raise ExpfamError(
                    f"column {column!r} has level(s) "
                    f"{', '.join(map(label, pd.unique(values[unseen])))} not seen when "
                    f"fitting (levels: {', '.join(map(label, levels))})")
            frame[column] = pd.Categorical(values, categories=levels)
        spec = ModelSpec(formula=rec["rhs"],
                         transform_state=_decode(rec.get("transform_state", {})))
        design = pd.DataFrame(spec.get_model_matrix(frame, na_action="ignore"))
        design = design.astype(np.float64)
        if list(map(str, design.columns)) != rec["columns"]:
            raise ExpfamError(f"the new data give the columns {list(design.columns)}, not the "
                              f"model's {rec['columns']}")
        return design.to_numpy(dtype=np.float64), offset

    def predict(self, data: pd.DataFrame, which: str = "mean") -> pd.DataFrame:
        """Predictions for the rows of ``data``: the mean (a column ``predicted``,
        or one column per class) or the linear predictor."""
        x, offset = self.design(data)
        coef = np.asarray(self.record["coef"], dtype=np.float64)
        eta = x @ coef
        if offset is not None:
            eta = eta + (offset if eta.ndim == 1 else offset[:, None])
        classes = self.record["classes"]
        if classes is None:
            values = eta if which == "linear" else self.family.mean(eta)
            return pd.DataFrame({"predicted": values}, index=data.index)
        layout = Layout(self.record["columns"], Classes(tuple(classes),
                                                        self.record["reference"]), None)
        if which == "linear":
            others = [c for c in classes if c != self.record["reference"]]
            return pd.DataFrame(eta, index=data.index, columns=others)
        return pd.DataFrame(layout.class_probabilities(eta), index=data.index, columns=classes)


def _require(data: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise ExpfamError(f"the new data lack the column(s) {', '.join(map(repr, missing))} "
                          f"that the model uses; columns are: {', '.join(map(str, data.columns))}")


def load_model(path: str) -> SavedModel:
    """Read a model written by ``expfam fit --save``."""
    try:
        record = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ExpfamError(f"no such model file: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ExpfamError(f"{path} is not a saved expfam model (not JSON: {err})") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise ExpfamError(f"{path} is not a saved expfam model (made by expfam fit --save)")
    if record.get("format_version", 0) > FORMAT_VERSION:
        raise ExpfamError(f"{path} was saved by a newer expfam ({record.get('expfam_version')})")
    return SavedModel(record)
