"""The ``expfam`` command line: fit a GLM to a CSV file or a bundled dataset.

Examples
--------
::

    expfam fit "am ~ hp + wt" --data mtcars
    expfam fit "breaks ~ wool * tension" --data warpbreaks --family poisson
    expfam fit "am ~ hp + wt" --data mtcars --link probit
    expfam fit "party ~ self_lr + age" --data anes96 --family categorical
    expfam fit --data counts.csv --response y --predictors x1 x2 --family poisson
    expfam datasets
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from expfam import datasets
from expfam.errors import ExpfamError
from expfam.models.glm import GLM, add_constant

__all__ = ["main"]


def _read(source: str) -> pd.DataFrame:
    """A CSV path, or the name of a bundled dataset."""
    path = Path(source)
    if path.suffix.lower() == ".csv" or path.exists():
        if not path.exists():
            raise ExpfamError(f"no such file: {source}")
        try:
            frame = pd.read_csv(path)
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as err:
            raise ExpfamError(f"cannot read {source} as CSV: {err}") from None
        if frame.empty:
            raise ExpfamError(f"{source} has no data rows (only a header?)")
        return frame
    return datasets.load(source)


def _columns(frame: pd.DataFrame, wanted: Sequence[str], role: str) -> None:
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise ExpfamError(f"{role} column(s) {', '.join(map(repr, missing))} not in the data; "
                          f"columns are: {', '.join(map(str, frame.columns))}")


def _fit(args: argparse.Namespace) -> int:
    frame = _read(args.data)
    if args.formula is not None:
        if args.response or args.predictors:
            raise ExpfamError("give either a formula or --response/--predictors, not both")
        model = GLM.from_formula(args.formula, frame, family=args.family,
                                 weights=args.weights, offset=args.offset, trials=args.trials,
                                 reference=args.reference, link=args.link)
    else:
        if not (args.response and args.predictors):
            raise ExpfamError("give a formula such as \"y ~ x1 + x2\", or --response and "
                              "--predictors")
        optional = [c for c in (args.weights, args.offset, args.trials) if c]
        _columns(frame, [args.response, *args.predictors, *optional], "requested")
        exog = frame[list(args.predictors)]
        if not args.no_intercept:
            exog = add_constant(exog)
        model = GLM(
            frame[args.response],
            exog,
            family=args.family,
            weights=frame[args.weights] if args.weights else None,
            offset=frame[args.offset] if args.offset else None,
            trials=frame[args.trials] if args.trials else None,
            link=args.link,
            **({} if args.reference is None else {"reference": args.reference}),
        )
    summary = model.fit(method=args.method, information=args.information).summary(
        alpha=args.alpha)
    if args.format == "csv":
        summary.to_frame().to_csv(sys.stdout)
    elif args.format == "html":
        print(summary._repr_html_())
    else:
        print(summary)
    return 0


def _datasets(_: argparse.Namespace) -> int:
    for name in datasets.names():
        print(f"{name}: {datasets.describe(name)}\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``expfam`` command."""
    parser = argparse.ArgumentParser(prog="expfam", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    fit = sub.add_parser("fit", help="fit a GLM and print its summary")
    fit.add_argument("formula", nargs="?",
                     help='a model formula, e.g. "am ~ hp + wt" (intercept included)')
    fit.add_argument("--data", required=True,
                     help="a CSV file, or a bundled dataset (see `expfam datasets`)")
    fit.add_argument("--response", help="without a formula: the response column")
    fit.add_argument("--predictors", nargs="+", help="without a formula: predictor columns")
    fit.add_argument("--family", default="bernoulli",
                     choices=["bernoulli", "binomial", "categorical", "poisson",
                              "gaussian", "gamma", "inverse_gaussian", "negative_binomial"])
    fit.add_argument("--link", help="the link, by R's name (probit, cloglog, log, identity, "
                     "inverse, 1/mu^2, sqrt, ...); default: the family's canonical link")
    fit.add_argument("--information", choices=["expected", "observed"], default="expected",
                     help="information behind the standard errors (default: expected, as R)")
    fit.add_argument("--reference", help="categorical: the baseline class (default: the "
                     "first level)")
    fit.add_argument("--weights", help="column of frequency weights")
    fit.add_argument("--offset", help="column added to the linear predictor")
    fit.add_argument("--trials", help="binomial: column with the number of trials")
    fit.add_argument("--no-intercept", action="store_true",
                     help="without a formula: do not add a constant")
    fit.add_argument("--method", default="irls", help="solver (default: irls)")
    fit.add_argument("--alpha", type=float, default=0.05, help="1 - confidence level")
    fit.add_argument("--format", choices=["text", "csv", "html"], default="text")
    fit.set_defaults(run=_fit)

    show = sub.add_parser("datasets", help="list the bundled datasets")
    show.set_defaults(run=_datasets)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except ExpfamError as err:
        print(f"expfam: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
