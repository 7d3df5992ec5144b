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
