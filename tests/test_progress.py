"""Progress of fits: one report per iteration, quiet by default."""

from __future__ import annotations

import numpy as np
import pytest

import expfam as ef
from expfam.backend.progress import Progress, reporter


@pytest.fixture(scope="module")
def cars():
    return ef.datasets.load("mtcars")


@pytest.mark.parametrize(("method", "options"), [
    ("irls", {}), ("lbfgs", {}), ("gd", {}), ("irls", {"penalty": "firth"})])
def test_a_callback_sees_every_iteration_of_the_history(cars, method, options):
    rows = []
    res = ef.logit("am ~ hp + wt", cars).fit(method, progress=rows.append, **options)
    # Every iteration; the gradient solvers' closing Newton polish and final
    # Hessian pass (after the iterations) are in the history only.
    history = res.history[~res.history["kind"].isin(["newton polish", "final"])
                          | (res.method == "irls")]
    assert len(rows) == len(history)
    counts = [r["iteration"] for r in rows]  # the solver's own count where it keeps one
    assert counts == list(range(counts[0], counts[0] + len(rows)))
    np.testing.assert_array_equal([r["loss"] for r in rows], history["loss"])
    times = [r["time"] for r in rows]
    assert times == sorted(times) and times[0] >= 0
    quiet = ef.logit("am ~ hp + wt", cars).fit(method, **options)
    np.testing.assert_array_equal(quiet.params, res.params)  # reporting changes nothing


def test_log_lines_and_bar_on_standard_error_and_quiet_by_default(cars, capsys):
    ef.logit("am ~ hp + wt", cars).fit()
    assert capsys.readouterr().err == ""
    res = ef.logit("am ~ hp + wt", cars).fit(progress="log")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == len(res.history)
    assert lines[0].startswith("irls iteration 1  deviance ") and "decrement" in lines[0]
    assert lines[0].endswith("s") and "time" in lines[0]
    ef.logit("am ~ hp + wt", cars).fit("lbfgs", progress="bar")
    err = capsys.readouterr().err
    assert "lbfgs" in err and "deviance=" in err
    # Not a terminal here: True falls back to log lines.
    ef.logit("am ~ hp + wt", cars).fit(progress=True)
    assert capsys.readouterr().err.startswith("irls iteration 1")


def test_bad_progress_option_and_the_quiet_reporter():
    with pytest.raises(ef.InputError, match="progress must be"):
        reporter("loud", "irls")
    with reporter(False, "irls") as quiet:
        assert type(quiet) is Progress
        quiet.update(deviance=1.0)
        quiet.tick()
        assert quiet.iteration == 1


def test_ticks_move_the_bar_within_an_iteration(capsys):
    with reporter("bar", "sgd", total=4) as bar:
        for _ in range(2):
            bar.tick(2)
            bar.update(loss=0.5)
    assert "4/4" in capsys.readouterr().err
