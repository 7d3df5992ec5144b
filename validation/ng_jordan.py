"""Ng and Jordan (2001), "On discriminative vs. generative classifiers", rerun on every
real dataset the package ships or reaches offline.

    python -m validation.ng_jordan              # all datasets, 10 random splits per size
    python -m validation.ng_jordan --repeats 2  # quicker
    python -m validation.ng_jordan --datasets pima iris --out /tmp/nj

For each dataset, twice — with the continuous features, and with every feature
binarized at its median (1 above it) — naive Bayes and logistic regression are
fit on nested random training sets of growing size and scored on a stratified
held-out 30% of the rows, ``--repeats`` times per size (``ef.compare(...)
.learning_curve``).  The naive Bayes model is the exact generative twin of
the logistic model: Gaussian features with a variance shared by the classes
(``variance="shared"``, whose posterior is linear in x) and ε = 1e-9·max Var
(scikit-learn's default smoothing), and Bernoulli features with Laplace
smoothing (``alpha=1``) for the binarized data.  Logistic regression is the
unpenalized maximum-likelihood fit (as in the paper): on small training sets
it is often separated, and its coefficients are then those of the last IRLS
step; errors are still well defined.

Writes ``docs/tables/ng_jordan_curves.csv`` (mean error and its standard error
by dataset, features, size and model), ``docs/tables/ng_jordan_crossovers.csv``
(the size from which logistic regression's mean error stays below naive
Bayes's, by linear interpolation on log size) and ``docs/figures/ng_jordan.png``.
"""

from __future__ import annotations

import argparse
import re
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

import expfam as ef
from expfam.comparison.learning import crossovers

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _safe(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(columns=lambda c: re.sub(r"\W+", "_", str(c)).strip("_"))


def _sklearn(loader: str, target: Callable[[pd.Series], pd.Series] | None = None
             ) -> pd.DataFrame:
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, loader)(as_frame=True)
    frame = _safe(bunch.frame)
    y = frame.pop("target")
    y = target(y) if target else y.map(lambda k: str(bunch.target_names[k]))
    return frame.loc[:, frame.std() > 0].assign(y=y.astype(str))


def datasets() -> dict[str, tuple[pd.DataFrame, str]]:
    """name -> (features plus the class column ``y``, description)."""
    pima = ef.datasets.load("pima").rename(columns={"diabetes": "y"})
    iris = ef.datasets.load("iris").rename(columns={"species": "y"})
    cars = ef.datasets.load("mtcars")
    cars = cars[["mpg", "disp", "hp", "drat", "wt", "qsec"]].assign(
        y=cars["am"].map({0: "automatic", 1: "manual"}))
    anes = ef.datasets.load("anes96")
    anes = anes[["log_popul", "tv_news", "self_lr", "age", "educ", "income"]].assign(
        y=anes["vote"].map({0: "Clinton", 1: "Dole"}))
    return {
        "pima": (pima, "diabetes, 7 features, 532 rows"),
        "iris": (iris, "3 species, 4 features, 150 rows"),
        "mtcars": (cars, "transmission, 6 features, 32 rows"),
        "anes96": (anes, "vote, 6 features, 944 rows"),
        "breast_cancer": (_sklearn("load_breast_cancer"),
                          "malignant/benign, 30 features, 569 rows"),
        "wine": (_sklearn("load_wine"), "3 cultivars, 13 features, 178 rows"),
        "digits": (_sklearn("load_digits", lambda t: (t % 2).map({0: "even", 1: "odd"})),
                   "odd/even digit, 61 non-constant pixels, 1797 rows"),
    }


def binarized(frame: pd.DataFrame) -> pd.DataFrame:
    """Every feature 1 above its median, 0 otherwise; constant results dropped."""
    x = frame.drop(columns="y")
    out = (x > x.median()).astype(int)
    return out.loc[:, out.std() > 0].assign(y=frame["y"])


def curve(frame: pd.DataFrame, features: str, repeats: int, seed: int) -> pd.DataFrame:
    formula = "y ~ " + " + ".join(c for c in frame.columns if c != "y")
    options = ({"families": "gaussian", "variance": "shared", "var_smoothing": 1e-9}
               if features == "continuous" else {"families": "bernoulli", "alpha": 1.0})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # separation and aliasing on small training sets
        cmp = ef.compare(formula, frame, models=["naive_bayes", "logit"], twins=False,
                         options={"naive_bayes": options}, folds=2, random_state=seed)
        k = frame["y"].nunique()
        p = frame.shape[1] - 1
        pool = int(0.7 * len(frame))
        start = min(max(2 * k + 2, 6), pool // 2)
        sizes = sorted({int(s) for s in np.geomspace(start, pool, 9)})
        return cmp.learning_curve(sizes=sizes, repeats=repeats, random_state=seed).assign(
            features=features, n_features=p)


def run(repeats: int, seed: int, only: list[str] | None = None
        ) -> tuple[pd.DataFrame, pd.DataFrame]:
    curves = []
    for name, (frame, _) in datasets().items():
        if only and name not in only:
            continue
        for features, data in (("continuous", frame), ("binarized", binarized(frame))):
            t0 = time.perf_counter()
            found = curve(data, features, repeats, seed).assign(dataset=name)
            curves.append(found)
            print(f"{name:14s} {features:10s} {time.perf_counter() - t0:6.1f} s", flush=True)
    raw = pd.concat(curves, ignore_index=True)
    summary = (raw.groupby(["dataset", "features", "size", "model"])["error"]
               .agg(["mean", "sem", "count"]).reset_index())
    rows = []
    for (name, features), part in raw.groupby(["dataset", "features"], sort=False):
        found = crossovers(part, [("naive_bayes", "logit")]).iloc[0]
        means = part.groupby(["size", "model"])["error"].mean().unstack("model")
        rows.append({"dataset": name, "features": features,
                     "rows_in_pool": int(means.index.max()),
                     "crossover": found["crossover"], "verdict": found["verdict"],
                     "nb_error_smallest": means["naive_bayes"].iloc[0],
                     "logit_error_smallest": means["logit"].iloc[0],
                     "nb_error_largest": means["naive_bayes"].iloc[-1],
                     "logit_error_largest": means["logit"].iloc[-1]})
    return summary, pd.DataFrame(rows)


def figure(summary: pd.DataFrame, table: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    names = list(dict.fromkeys(summary["dataset"]))
    fig, axes = plt.subplots(len(names), 2, figsize=(9, 2.4 * len(names)), squeeze=False)
    for i, name in enumerate(names):
        for j, features in enumerate(("continuous", "binarized")):
            ax = axes[i, j]
            part = summary[(summary["dataset"] == name) & (summary["features"] == features)]
            for model, style in (("naive_bayes", "-"), ("logit", "--")):
                m = part[part["model"] == model]
                ax.errorbar(m["size"], m["mean"], yerr=m["sem"], marker="o", ms=3,
                            capsize=2, linestyle=style,
                            label="naive Bayes" if model == "naive_bayes" else "logistic")
            row = table[(table["dataset"] == name) & (table["features"] == features)]
            cross = float(row["crossover"].iloc[0]) if len(row) else np.nan
            if np.isfinite(cross):
                ax.axvline(cross, color="grey", linestyle=":")
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(ScalarFormatter())
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.set_title(f"{name}, {features}", fontsize=9)
            ax.tick_params(labelsize=7)
            if j == 0:
                ax.set_ylabel("held-out error", fontsize=8)
            if i == len(names) - 1:
                ax.set_xlabel("training rows", fontsize=8)
            if i == 0 and j == 0:
                ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DOCS)
    parser.add_argument("--datasets", nargs="*", help="a subset, e.g. pima iris")
    args = parser.parse_args()
    t0 = time.perf_counter()
    summary, table = run(args.repeats, args.seed, args.datasets)
    for folder in ("tables", "figures"):
        (args.out / folder).mkdir(parents=True, exist_ok=True)
    summary.to_csv(args.out / "tables" / "ng_jordan_curves.csv", index=False,
                   float_format="%.5g")
    table.to_csv(args.out / "tables" / "ng_jordan_crossovers.csv", index=False,
                 float_format="%.4g")
    figure(summary, table, args.out / "figures" / "ng_jordan.png")
    with pd.option_context("display.width", 160):
        print(table.round(3).to_string(index=False))
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
