"""Summary tables for fitted models: plain text, HTML for notebooks, and DataFrames.

Rendering is kept apart from computation: a :class:`Summary` holds the
numbers as label/value pairs and coefficient DataFrames, and only formats them.
"""

from __future__ import annotations

import html
import textwrap
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from expfam.engine.solvers import SOLVER_NAMES
from expfam.errors import label
from expfam.inference.dispersion import quasi_note

if TYPE_CHECKING:
    from expfam.inference.results import GLMResults

__all__ = ["Summary"]

WIDTH = 78
COEF_COLUMNS = ["coef", "std_err", "z", "p_value", "ci_lower", "ci_upper"]


def _num(x: float, digits: int = 4) -> str:
    """A number for a table: fixed point when readable, else scientific."""
    if not np.isfinite(x):
        return str(x)
    if x == 0 or 1e-4 <= abs(x) < 1e5:
        return f"{x:.{digits}f}"
    return f"{x:.{digits - 1}e}"


def _pvalue(p: float) -> str:
    if not np.isfinite(p):
        return str(p)
    return f"{p:.3f}" if p >= 1e-3 else f"{p:.1e}"


def _information(res: GLMResults) -> str:
    """Which information the standard errors use; one matrix for a canonical link."""
    return "observed = expected" if res.model.family.canonical else res.information


def _theta_line(res: object) -> list[tuple[str, str]]:
    """The negative binomial's estimated θ, when it was estimated."""
    theta, se = (getattr(res, name, None) for name in ("theta", "theta_se"))
    if theta is None or se is None:
        return []
    return [("Theta", f"{_num(theta)} (SE {_num(se)})")]


@dataclass(frozen=True)
class Summary:
    """A model summary.

    Attributes
    ----------
    title : str
    info : list of (label, value)
        Model description (left column of the text header).
    stats : list of (label, value)
        Fit statistics (right column).
    blocks : list of (heading or None, DataFrame)
        Coefficient tables with columns ``coef, std_err, z, p_value, ci_lower,
        ci_upper`` (one block per class for multinomial models).
    alpha : float
        Level of the confidence intervals.
    notes : list of str
    """

    title: str
    info: list[tuple[str, str]]
    stats: list[tuple[str, str]]
    blocks: list[tuple[str | None, pd.DataFrame]]
    alpha: float = 0.05
    notes: list[str] = field(default_factory=list)
    #: The Wald statistic's name: "z", or "t" when the dispersion is estimated.
    statistic: str = "z"

    @classmethod
    def from_results(cls, res: GLMResults, alpha: float = 0.05) -> Summary:
        """Build the summary of a fitted GLM."""
        model = res.model
        fam = model.family
        converged = "yes" if res.converged else "NO"
        if res.separation is not None and res.separation.separated:
            converged = "separated"  # the criterion was met, but no MLE exists
        terms = model.formula
        response = model.endog_name
        if model.classes is None and terms is not None and terms.response.levels is not None:
            response = f"{response} (1 = {label(terms.response.event)})"
        info = [
            ("Response", response),
            ("Family", type(getattr(fam, "base", fam)).__name__),
            ("Link", fam.link_name),
            ("Method", "IRLS (Fisher scoring)" if not fam.canonical and res.method in (
                "irls", "newton") else SOLVER_NAMES.get(res.method, res.method)),
            ("Converged", f"{converged}, {res.n_iter} iterations"),
            ("Covariance", res.cov_type),
            ("Information", _information(res)),
            ("Observations", f"{res.nobs:g}" + (
                f" ({model.n_dropped} dropped: missing)" if model.n_dropped else "")),
            ("Df model", f"{res.df_model:g}"),
            ("Df residuals", f"{res.df_resid:g}"),
        ]
        if model.classes is not None:
            info.insert(1, ("Reference", label(model.classes.reference)))
        stats = [
            ("Log-likelihood", _num(res.llf)),
            ("Deviance", _num(res.deviance)),
            ("Null deviance", _num(res.null_deviance)),
            ("Pearson chi2", _num(res.pearson_chi2, 3)),
            ("AIC", _num(res.aic)),
            ("BIC", _num(res.bic)),
            ("R-squared" if fam.estimated_dispersion else "Pseudo R2 (McFadden)",
             _num(res.prsquared)),
            *([("Dispersion", _num(res.scale))] if res.use_t or res.quasi else []),
            *_theta_line(res),
            (f"LR chi2({res.df_model:g})", f"{_num(res.llr, 3)}, p={_pvalue(res.llr_pvalue)}"),
        ]
        ci = res.conf_int(alpha)
        stacked = res._layout.stack
        table = pd.DataFrame({
            "coef": stacked(res.params), "std_err": stacked(res.bse), "z": stacked(res.zvalues),
            "p_value": stacked(res.pvalues), "ci_lower": ci["lower"], "ci_upper": ci["upper"],
        })
        sep = res.separation
        if model.classes is None and sep is not None and sep.separated:
            # Not estimates: the likelihood rises without bound along these terms.
            # Show where they are heading, not a large number as if it were one.
            heading = np.sign(table.loc[sep.involved, "coef"]) * np.inf
            table.loc[sep.involved, "coef"] = heading
            table.loc[sep.involved, ["std_err", "z", "p_value", "ci_lower", "ci_upper"]] = (
                np.nan)
        if model.classes is None:
            blocks: list[tuple[str | None, pd.DataFrame]] = [(None, table)]
        else:
            name = model.endog_name
            blocks = [(f"{name} = {label(c)}", pd.DataFrame(table.xs(c, level="class")))
                      for c in model.classes.others]
        notes = []
        if sep is not None and sep.separated:
            names = [n for n, used in zip(res.model.exog_names, sep.involved, strict=True)
                     if used]
            shown = ("shown as ±inf (res.params holds where the fit stopped)"
                     if model.classes is None else
                     "the values shown are where the fit stopped")
            notes.append(f"The outcomes are separated: the estimates of {', '.join(names)} "
                         f"do not exist (they run off to infinity); {shown}. Drop those "
                         "terms or refit with penalty='firth'.")
        if res.aliased:
            notes.append(f"{len(res.aliased)} coefficient(s) not defined because of "
                         f"singularities (aliased: {', '.join(res.aliased)}).")
        if model.n_dropped:
            notes.append(f"{model.n_dropped} row(s) with missing values were dropped.")
        if model.weights is not None:
            notes.append("Weights are frequency weights: a weight of k counts the row k times.")
        if res.quasi:
            assert res.scale_method is not None
            notes.append(quasi_note(res.scale_method, res.scale))
        if not res.converged:
            notes.append(f"The fit did not converge: {res.solver.message}.")
        title = "Generalized linear model"
        if terms is not None:
            title += f": {terms.formula}"
        return cls(title, info, stats, blocks, alpha, notes, "t" if res.use_t else "z")

    # -- outputs ---------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """The coefficient table(s) as one DataFrame (MultiIndex for several blocks)."""
        if len(self.blocks) == 1 and self.blocks[0][0] is None:
            frame = self.blocks[0][1].copy()
        else:
            frame = pd.concat({str(h): t for h, t in self.blocks}, names=["block", "term"])
        return frame.rename(columns={"z": self.statistic})

    def _ci_labels(self) -> tuple[str, str]:
        return f"[{self.alpha / 2:g}", f"{1 - self.alpha / 2:g}]"

    def as_text(self) -> str:
        """The summary as fixed-width text."""
        # As wide as the widest coefficient row (long term names), at least WIDTH.
        term_width = max([len(str(t)) for _, table in self.blocks for t in table.index] + [4])
        total = max(WIDTH, term_width + 11 * len(COEF_COLUMNS))
        rule, thin = "=" * total, "-" * total
        lines = [line.center(total).rstrip() for line in textwrap.wrap(
            self.title, total, subsequent_indent="    ", break_on_hyphens=False)]
        lines.append(rule)
        half = WIDTH // 2  # the fit's statistics keep their width; the table grows
        for i in range(max(len(self.info), len(self.stats))):
            left = f"{self.info[i][0] + ':':<14}{self.info[i][1]}" if i < len(self.info) else ""
            right = ""
            if i < len(self.stats):
                label, value = self.stats[i]
                right = f"{label + ':':<22}{value:>{WIDTH - half - 22}}"
            lines.append(f"{left[:half - 1]:<{half}}{right}")
        lo, hi = self._ci_labels()
        stat = self.statistic
        header = ["coef", "std err", stat, f"P>|{stat}|", lo, hi]
        for heading, table in self.blocks:
            lines.append(rule)
            if heading is not None:
                lines.append(heading)
                lines.append(thin)
            width = term_width
            lines.append(" " * width + "".join(f"{h:>11}" for h in header))
            lines.append(thin)
            for term, row in table.iterrows():
                cells = [_num(row["coef"]), _num(row["std_err"]), _num(row["z"], 3),
                         _pvalue(row["p_value"]), _num(row["ci_lower"], 3),
                         _num(row["ci_upper"], 3)]
                # A leading space keeps even an over-wide cell apart from its neighbour.
                lines.append(f"{term!s:<{width}}" + "".join(f" {c:>10}" for c in cells))
        lines.append(rule)
        lines.extend(self.notes)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.as_text()

    def __repr__(self) -> str:
        return self.as_text()

    def _repr_html_(self) -> str:
        def pairs(items: list[tuple[str, str]]) -> str:
            return "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                           for k, v in items)

        parts = [f"<h4>{html.escape(self.title)}</h4>",
                 "<table><tr><td style='vertical-align:top'><table>", pairs(self.info),
                 "</table></td><td style='vertical-align:top'><table>", pairs(self.stats),
                 "</table></td></tr></table>"]
        lo, hi = self._ci_labels()
        for heading, table in self.blocks:
            if heading is not None:
                parts.append(f"<h5>{html.escape(heading)}</h5>")
            shown = table.rename(columns=dict(zip(
                COEF_COLUMNS, ["coef", "std err", self.statistic, f"P>|{self.statistic}|",
                               lo, hi], strict=True)))
            parts.append(shown.to_html(float_format=lambda v: _num(v)))
        parts.extend(f"<p>{html.escape(n)}</p>" for n in self.notes)
        return "\n".join(parts)
