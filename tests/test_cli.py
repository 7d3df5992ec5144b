"""The ``expfam`` command line."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import expfam as ef
from expfam.cli import main


def test_fit_a_formula_on_a_bundled_dataset(capsys):
    assert main(["fit", "am ~ hp + wt", "--data", "mtcars"]) == 0
    out = capsys.readouterr().out
    assert "am ~ hp + wt" in out and "-8.0835" in out


def test_fit_a_formula_with_factors_on_a_csv(tmp_path, capsys):
    path = tmp_path / "breaks.csv"
    ef.datasets.load("warpbreaks").to_csv(path, index=False)
    assert main(["fit", "breaks ~ wool * tension", "--data", str(path), "--family", "poisson",
                 "--format", "csv"]) == 0
    table = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out), index_col=0)
    assert "wool[T.B]:tension[T.M]" in table.index


def test_formula_and_columns_do_not_mix(capsys):
    assert main(["fit", "am ~ hp", "--data", "mtcars", "--response", "am"]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["fit", "--data", "mtcars"]) == 2


def test_fit_on_a_bundled_dataset(capsys):
    assert main(["fit", "--data", "mtcars", "--response", "am", "--predictors", "hp", "wt"]) == 0
    out = capsys.readouterr().out
    assert "Generalized linear model" in out
    assert "wt" in out and "-8.0835" in out


def test_fit_on_a_csv_file(tmp_path, capsys):
    cars = ef.datasets.load("warpbreaks").assign(wool_b=lambda d: (d["wool"] == "B") * 1)
    path = tmp_path / "breaks.csv"
    cars.to_csv(path, index=False)
    assert main(["fit", "--data", str(path), "--response", "breaks", "--predictors", "wool_b",
                 "--family", "poisson", "--format", "csv"]) == 0
    table = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out), index_col=0)
    assert list(table.index) == ["const", "wool_b"]
    # One binary predictor: the coefficient is the log ratio of the group means.
    means = cars.groupby("wool_b")["breaks"].mean()
    assert table.loc["wool_b", "coef"] == pytest.approx(np.log(means[1] / means[0]), rel=1e-6)


def test_binomial_with_trials(tmp_path, capsys):
    frame = pd.DataFrame({"s": [1, 3, 5, 8], "n": [10, 10, 10, 10], "x": [0.0, 1, 2, 3]})
    path = tmp_path / "b.csv"
    frame.to_csv(path, index=False)
    assert main(["fit", "--data", str(path), "--response", "s", "--predictors", "x",
                 "--family", "binomial", "--trials", "n"]) == 0
    assert "Binomial" in capsys.readouterr().out


def test_errors_are_reported_without_a_traceback(capsys):
    assert main(["fit", "--data", "mtcars", "--response", "am", "--predictors", "nope"]) == 2
    err = capsys.readouterr().err
    assert "'nope' not in the data" in err and "Traceback" not in err
    assert main(["fit", "--data", "nosuch", "--response", "y", "--predictors", "x"]) == 2
    assert "no bundled dataset 'nosuch'" in capsys.readouterr().err


def test_datasets_listing(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    assert "mtcars" in out and "iris" in out


def test_console_script_is_installed():
    out = subprocess.run([sys.executable, "-m", "expfam.cli", "datasets"], capture_output=True,
                         text=True, check=True).stdout
    assert "warpbreaks" in out


def test_command_line_fits_a_multinomial_model(capsys):
    assert main(["fit", "party ~ self_lr", "--data", "anes96", "--family", "categorical",
                 "--reference", "independent"]) == 0
    out = capsys.readouterr().out
    assert "Reference:    'independent'" in out
    assert out.count("party = ") == 6


def test_empty_and_header_only_csv_files_are_clear_errors(tmp_path, capsys):
    empty, header = tmp_path / "empty.csv", tmp_path / "header.csv"
    empty.write_text("")
    header.write_text("y,x\n")
    assert main(["fit", "y ~ x", "--data", str(empty)]) == 2
    assert "cannot read" in capsys.readouterr().err
    for args in (["y ~ x"], ["--response", "y", "--predictors", "x"]):
        assert main(["fit", *args, "--data", str(header)]) == 2
        assert "no data rows" in capsys.readouterr().err


def test_gaussian_family_on_the_command_line(capsys):
    assert main(["fit", "mpg ~ hp + wt", "--data", "mtcars", "--family", "gaussian"]) == 0
    out = capsys.readouterr().out
    assert "Gaussian" in out and "P>|t|" in out and "Dispersion" in out


# -- second round: JSON, files, stdin, formats, saved models, pipes -------------
import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402

from expfam.cli.reading import read_table  # noqa: E402


def test_version(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"expfam {ef.__version__}"


def test_json_has_every_fit_statistic(tmp_path, capsys):
    out = tmp_path / "fit.json"
    assert main(["fit", "am ~ hp + wt", "--data", "mtcars", "--format", "json",
                 "-o", str(out)]) == 0
    assert capsys.readouterr().out == ""
    got = json.loads(out.read_text())
    res = ef.logit("am ~ hp + wt", ef.datasets.load("mtcars")).fit()
    for key in ("llf", "llnull", "deviance", "null_deviance", "aic", "bic", "nobs",
                "pearson_chi2", "prsquared"):
        assert got[key] == pytest.approx(getattr(res, key), rel=1e-12), key
    assert got["converged"] is True and got["n_iter"] == res.n_iter
    assert got["lr_test"]["p_value"] == pytest.approx(res.llr_pvalue, rel=1e-12)
    table = pd.DataFrame(got["coefficients"]).set_index("term")
    np.testing.assert_allclose(table["coef"], res.params, rtol=1e-12)
    np.testing.assert_allclose(table["std_err"], res.bse, rtol=1e-12)
    np.testing.assert_allclose(table["p_value"], res.pvalues, rtol=1e-12)
    np.testing.assert_allclose(table["ci_lower"], res.conf_int()["lower"], rtol=1e-12)


def test_json_of_a_multinomial_fit_names_classes(capsys):
    assert main(["fit", "party ~ self_lr", "--data", "anes96", "--family", "categorical",
                 "--format", "json"]) == 0
    got = json.loads(capsys.readouterr().out)
    res = ef.mnlogit("party ~ self_lr", ef.datasets.load("anes96")).fit()
    table = pd.DataFrame(got["coefficients"]).set_index(["class", "term"])
    np.testing.assert_allclose(table["coef"], res.params.T.stack(), rtol=1e-12)
    assert got["classes"] == list(res.model.classes.labels)


@pytest.fixture
def with_stdin(monkeypatch):
    """Replace standard input by the given bytes."""
    def feed(data: bytes) -> None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    return feed


def test_delimiters_tsv_parquet_and_stdin(tmp_path, with_stdin, capsys):
    breaks = ef.datasets.load("warpbreaks").astype({"wool": str, "tension": str})
    paths = {"tsv": tmp_path / "b.tsv", "semicolon": tmp_path / "b.csv",
             "parquet": tmp_path / "b.parquet", "txt": tmp_path / "b.txt"}
    breaks.to_csv(paths["tsv"], sep="\t", index=False)
    breaks.to_csv(paths["semicolon"], sep=";", index=False)
    breaks.to_csv(paths["txt"], sep="|", index=False)
    breaks.to_parquet(paths["parquet"])
    for path in paths.values():
        pd.testing.assert_frame_equal(read_table(str(path)), breaks, check_dtype=False)
    with_stdin(paths["tsv"].read_bytes())
    assert main(["fit", "breaks ~ wool + tension", "--data", "-", "--family", "poisson",
                 "--format", "csv"]) == 0
    from_stdin = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out), index_col=0)
    res = ef.glm("breaks ~ wool + tension", breaks, family="poisson").fit()
    np.testing.assert_allclose(from_stdin["coef"], res.params, rtol=1e-9)
    with_stdin(paths["parquet"].read_bytes())
    assert main(["fit", "breaks ~ wool", "--data", "-", "--family", "poisson"]) == 0
    assert "wool[T.B]" in capsys.readouterr().out


@pytest.mark.parametrize(("formula", "family"), [
    ("breaks ~ wool * tension", "poisson"),
    ("am ~ hp + C(cyl)", "bernoulli"),
    ("tension ~ breaks + wool", "categorical"),
    ("mpg ~ hp + wt", "gaussian"),
    ("mpg ~ center(hp) + scale(wt) + poly(qsec, 2) + C(gear)", "gaussian"),
])
def test_saved_model_predicts_as_the_fit(tmp_path, capsys, formula, family):
    name = {"breaks": "warpbreaks", "tension": "warpbreaks"}.get(formula.split()[0],
                                                                   "mtcars")
    data = ef.datasets.load(name)
    new = data.sample(frac=0.5, random_state=1)
    new.to_csv(tmp_path / "new.csv", index=False)
    model = tmp_path / "model.json"
    assert main(["fit", formula, "--data", name, "--family", family, "--save", str(model),
                 "-o", str(tmp_path / "summary.txt")]) == 0
    assert main(["predict", str(model), "--data", str(tmp_path / "new.csv"), "-o",
                 str(tmp_path / "pred.csv")]) == 0
    got = pd.read_csv(tmp_path / "pred.csv", index_col=0)
    res = ef.glm(formula, data, family=family).fit()
    expected = res.predict(new.reset_index(drop=True))
    np.testing.assert_allclose(got.to_numpy().squeeze(), np.asarray(expected), rtol=1e-12)
    assert main(["predict", str(model), "--data", str(tmp_path / "new.csv"), "--which",
                 "linear", "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    linear = np.asarray(res.predict(new.reset_index(drop=True), which="linear"))
    np.testing.assert_allclose(pd.DataFrame(records).to_numpy().squeeze(), linear, rtol=1e-12)


def test_saved_model_refuses_unseen_levels_and_missing_columns(tmp_path, capsys):
    model = tmp_path / "model.json"
    assert main(["fit", "breaks ~ wool + tension", "--data", "warpbreaks", "--family",
                 "poisson", "--save", str(model), "-o", str(tmp_path / "s.txt")]) == 0
    pd.DataFrame({"wool": ["A", "C"], "tension": ["L", "L"]}).to_csv(tmp_path / "n.csv")
    assert main(["predict", str(model), "--data", str(tmp_path / "n.csv")]) == 2
    assert "'C' not seen when fitting" in capsys.readouterr().err
    pd.DataFrame({"wool": ["A"]}).to_csv(tmp_path / "m.csv")
    assert main(["predict", str(model), "--data", str(tmp_path / "m.csv")]) == 2
    assert "lack the column(s) 'tension'" in capsys.readouterr().err
    assert main(["predict", str(tmp_path / "m.csv"), "--data", "mtcars"]) == 2
    assert "not a saved expfam model" in capsys.readouterr().err


def test_cov_type_and_link_options(capsys):
    assert main(["fit", "am ~ hp + wt", "--data", "mtcars", "--cov-type", "HC1",
                 "--format", "json"]) == 0
    got = json.loads(capsys.readouterr().out)
    res = ef.logit("am ~ hp + wt", ef.datasets.load("mtcars")).fit(cov_type="HC1")
    np.testing.assert_allclose([c["std_err"] for c in got["coefficients"]], res.bse,
                               rtol=1e-12)
    assert main(["fit", "am ~ hp + wt", "--data", "mtcars", "--cov-type", "cluster",
                 "--groups", "cyl", "--format", "json"]) == 0
    got = json.loads(capsys.readouterr().out)
    cars = ef.datasets.load("mtcars")
    res = ef.logit("am ~ hp + wt", cars).fit(cov_type="cluster", groups=cars["cyl"])
    np.testing.assert_allclose([c["std_err"] for c in got["coefficients"]], res.bse,
                               rtol=1e-12)
    # The canonical link by name is the default fit.
    assert main(["fit", "am ~ hp + wt", "--data", "mtcars", "--link", "logit"]) == 0
    assert "-8.0835" in capsys.readouterr().out


def test_no_traceback_when_the_reader_goes_away(monkeypatch, capsys):
    read, write = os.pipe()
    os.close(read)  # as `| head` does once it has its lines
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(os.fdopen(write, "wb")))
    assert main(["datasets"]) == 141  # as a shell reports SIGPIPE
    assert capsys.readouterr().err == ""


def test_unknown_family_is_a_clear_error(capsys):
    assert main(["fit", "am ~ hp", "--data", "mtcars", "--family", "nope"]) == 2
    assert "unknown family 'nope'" in capsys.readouterr().err


def test_saving_checks_that_the_file_rebuilds_the_training_design(tmp_path):
    from expfam.cli.saved import load_model, save_model

    cars = ef.datasets.load("mtcars")
    res = ef.glm("mpg ~ center(hp) + wt", cars, family="gaussian").fit()
    save_model(res, str(tmp_path / "ok.json"), cars)
    np.testing.assert_allclose(load_model(str(tmp_path / "ok.json")).predict(cars)["predicted"],
                               res.predict(cars), rtol=1e-12)
    with pytest.raises(ef.ExpfamError, match="cannot be rebuilt"):
        save_model(res, str(tmp_path / "bad.json"), cars.assign(hp=cars["hp"] + 1))
    assert not (tmp_path / "bad.json").exists()


def test_parquet_without_pyarrow_says_what_to_install(tmp_path, monkeypatch, capsys):
    path = tmp_path / "b.parquet"
    ef.datasets.load("warpbreaks").to_parquet(path)

    def missing(*args, **kwargs):
        raise ImportError("no pyarrow")

    monkeypatch.setattr(pd, "read_parquet", missing)
    assert main(["fit", "breaks ~ wool", "--data", str(path), "--family", "poisson"]) == 2
    assert 'pip install "expfam[parquet]"' in capsys.readouterr().err


def test_saved_column_model_with_an_offset_column(tmp_path):
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"x": rng.normal(size=60), "exposure": rng.uniform(1, 5, 60)})
    frame["log_exposure"] = np.log(frame["exposure"])
    frame["y"] = rng.poisson(frame["exposure"] * np.exp(0.3 * frame["x"]))
    frame.to_csv(tmp_path / "d.csv", index=False)
    model = tmp_path / "m.json"
    assert main(["fit", "--data", str(tmp_path / "d.csv"), "--response", "y", "--predictors",
                 "x", "--offset", "log_exposure", "--family", "poisson", "--save", str(model),
                 "-o", str(tmp_path / "s.txt")]) == 0
    new = frame.sample(10, random_state=0)
    new.to_csv(tmp_path / "new.csv", index=False)
    assert main(["predict", str(model), "--data", str(tmp_path / "new.csv"), "-o",
                 str(tmp_path / "p.csv")]) == 0
    res = ef.GLM(frame["y"], ef.add_constant(frame[["x"]]), family="poisson",
                 offset=frame["log_exposure"]).fit()
    expected = res.predict(ef.add_constant(new[["x"]]), offset=new["log_exposure"])
    got = pd.read_csv(tmp_path / "p.csv", index_col=0)["predicted"]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
