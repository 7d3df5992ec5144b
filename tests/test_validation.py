"""The validation comparisons (validation/compare.py) as tests: expfam against
statsmodels' GLM, Logit and Poisson, and against R's glm output stored in
validation/r/results (produced by validation/r/glm_reference.R)."""

from __future__ import annotations

import pytest

from validation.compare import ALL_CASES, compare_case


@pytest.mark.parametrize("name", list(ALL_CASES))
def test_case_agrees_with_statsmodels_and_r(name):
    table = compare_case(ALL_CASES[name]())
    assert set(table["reference"]) >= {"statsmodels GLM", "R glm"}
    failed = table[~table["ok"]]
    assert failed.empty, "\n" + failed.to_string()
