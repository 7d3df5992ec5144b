"""The ``expfam`` command line: fit, save and apply GLMs from the shell.

Data come from a CSV, TSV or Parquet file, standard input, or a bundled
dataset; summaries print as text, CSV, HTML or JSON.

Examples
--------
::

    expfam fit "am ~ hp + wt" --data mtcars
    expfam fit "breaks ~ wool * tension" --data warpbreaks --family poisson
    expfam fit "party ~ self_lr + age" --data anes96 --family categorical
    expfam fit --data counts.csv --response y --predictors x1 x2 --family poisson
    expfam fit "am ~ hp + wt" --data cars.tsv --format json -o fit.json
    cat cars.csv | expfam fit "am ~ hp + wt" --data - --save model.json
    expfam predict model.json --data new_cars.parquet
    expfam datasets
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import warnings
from collections.abc import Iterator, Sequence
from typing import IO, Any

from expfam import datasets
from expfam._version import __version__
from expfam.cli.reading import read_table
from expfam.cli.report import fit_statistics, frame_records
from expfam.cli.saved import load_model, save_model
from expfam.errors import ExpfamError
from expfam.inference.robust import COV_TYPES
from expfam.models.glm import GLM, add_constant

__all__ = ["build_parser", "main"]

FAMILIES = ["bernoulli", "binomial", "categorical", "poisson", "gaussian"]


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[IO[str]]:
    """Standard output, or the file given with ``-o``."""
    if path is None or path == "-":
        yield sys.stdout
        return
    try:
        handle = open(path, "w", encoding="utf-8")
    except OSError as err:
        raise ExpfamError(f"cannot write {path}: {err.strerror}") from None
    with handle:
        yield handle


def _columns(frame: Any, wanted: Sequence[str], role: str) -> None:
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise ExpfamError(f"{role} column(s) {', '.join(map(repr, missing))} not in the data; "
                          f"columns are: {', '.join(map(str, frame.columns))}")


def _link_option(args: argparse.Namespace) -> dict[str, Any]:
    """``link=`` for the model, when one is asked for."""
    return {} if args.link is None else {"link": args.link}


def _model(args: argparse.Namespace, frame: Any) -> GLM:
    link = _link_option(args)
    if args.formula is not None:
        if args.response or args.predictors:
            raise ExpfamError("give either a formula or --response/--predictors, not both")
        return GLM.from_formula(args.formula, frame, family=args.family,
                                weights=args.weights, offset=args.offset,
                                trials=args.trials, reference=args.reference, **link)
    if not (args.response and args.predictors):
        raise ExpfamError("give a formula such as \"y ~ x1 + x2\", or --response and "
                          "--predictors")
    optional = [c for c in (args.weights, args.offset, args.trials) if c]
    _columns(frame, [args.response, *args.predictors, *optional], "requested")
    exog = frame[list(args.predictors)]
    if not args.no_intercept:
        exog = add_constant(exog)
    return GLM(
        frame[args.response], exog, family=args.family,
        weights=frame[args.weights] if args.weights else None,
        offset=frame[args.offset] if args.offset else None,
        trials=frame[args.trials] if args.trials else None,
        **({} if args.reference is None else {"reference": args.reference}), **link)


def _fit(args: argparse.Namespace) -> int:
    frame = read_table(args.data, args.sep)
    model = _model(args, frame)
    fit_options: dict[str, Any] = {"method": args.method, "cov_type": args.cov_type,
                                   "information": args.information}
    if args.groups is not None:
        _columns(frame, [args.groups], "--groups")
        column = frame[args.groups]
        # A formula drops rows with missing values: the clusters of the rows kept.
        if model.row_index is not None:
            column = column.loc[model.row_index]
        fit_options["groups"] = column.to_numpy()
    if args.progress:
        fit_options["progress"] = True
    res = model.fit(**fit_options)
    if args.save:
        save_model(res, args.save, frame if args.formula is not None else None,
                   offset_column=args.offset)
    with _output(args.output) as out:
        if args.format == "json":
            out.write(json.dumps(fit_statistics(res, args.alpha), indent=2) + "\n")
            return 0
        summary = res.summary(alpha=args.alpha)
        if args.format == "csv":
            summary.to_frame().to_csv(out)
        elif args.format == "html":
            out.write(summary._repr_html_() + "\n")
        else:
            out.write(str(summary) + "\n")
    return 0


def _predict(args: argparse.Namespace) -> int:
    saved = load_model(args.model)
    frame = read_table(args.data, args.sep)
    predictions = saved.predict(frame, which=args.which)
    with _output(args.output) as out:
        if args.format == "json":
            out.write(json.dumps(frame_records(predictions), indent=1) + "\n")
        else:
            predictions.to_csv(out, sep="\t" if args.format == "tsv" else ",")
    return 0


def _datasets(args: argparse.Namespace) -> int:
    with _output(args.output) as out:
        for name in datasets.names():
            out.write(f"{name}: {datasets.describe(name)}\n\n")
    return 0


def _data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True,
                        help="a CSV, TSV or Parquet file; '-' for standard input; or a "
                        "bundled dataset (see `expfam datasets`)")
    parser.add_argument("--sep", help="the delimiter of a text file (default: detected from "
                        "its header line; tab for .tsv)")
    parser.add_argument("-o", "--output", help="write the output to this file instead of "
                        "standard output")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``expfam`` command."""
    parser = argparse.ArgumentParser(
        prog="expfam", description="Fit, save and apply GLMs from the shell.")
    parser.add_argument("--version", action="version", version=f"expfam {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    fit = sub.add_parser("fit", help="fit a GLM and print its summary")
    fit.add_argument("formula", nargs="?",
                     help='a model formula, e.g. "am ~ hp + wt" (intercept included)')
    _data_options(fit)
    fit.add_argument("--response", help="without a formula: the response column")
    fit.add_argument("--predictors", nargs="+", help="without a formula: predictor columns")
    fit.add_argument("--family", default="bernoulli",
                     help=f"the family, as fit's family= ({', '.join(FAMILIES)}, ...; "
                     "default: bernoulli)")
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
    fit.add_argument("--method", default="auto",
                     help="solver, as fit(method=...) (default: auto, as in Python)")
    fit.add_argument("--cov-type", default="nonrobust", choices=list(COV_TYPES),
                     help="covariance of the estimates (as fit(cov_type=...))")
    fit.add_argument("--groups", help="cluster column for --cov-type cluster")
    fit.add_argument("--alpha", type=float, default=0.05, help="1 - confidence level")
    fit.add_argument("--format", choices=["text", "csv", "html", "json"], default="text",
                     help="json: every fit statistic, machine-readable")
    fit.add_argument("--save", metavar="MODEL.json",
                     help="save the fitted model for `expfam predict`")
    fit.add_argument("--progress", action="store_true",
                     help="report the solver's progress on standard error")
    fit.set_defaults(run=_fit)

    predict = sub.add_parser("predict", help="apply a model saved by `fit --save` to new "
                             "data")
    predict.add_argument("model", help="the file written by `expfam fit --save`")
    _data_options(predict)
    predict.add_argument("--which", choices=["mean", "linear"], default="mean",
                         help="the mean (class probabilities for a categorical model) or "
                         "the linear predictor")
    predict.add_argument("--format", choices=["csv", "tsv", "json"], default="csv")
    predict.set_defaults(run=_predict)

    show = sub.add_parser("datasets", help="list the bundled datasets")
    show.add_argument("-o", "--output", help="write the list to this file")
    show.set_defaults(run=_datasets)
    return parser


def _show_warning(message: Warning | str, category: type[Warning], filename: str,
                  lineno: int, file: Any = None, line: str | None = None) -> None:
    print(f"expfam: {category.__name__}: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            # A command line reports warnings as messages, not source locations.
            warnings.showwarning = _show_warning
            status = int(args.run(args))
        sys.stdout.flush()  # here, where a closed pipe is caught, not at exit
        return status
    except ExpfamError as err:
        print(f"expfam: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (``expfam fit ... | head``): stop quietly.  Python
        # would flush stdout again at exit and complain, so point it at devnull.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # as a shell reports a command killed by SIGPIPE
