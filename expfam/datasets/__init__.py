"""Small public-domain datasets bundled with expfam.

>>> from expfam import datasets
>>> datasets.names()
['anes96', 'iris', 'mtcars', 'pima', 'ucb_admissions', 'warpbreaks']
>>> datasets.load("mtcars").shape
(32, 12)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

import pandas as pd

from expfam.errors import InputError

__all__ = ["DATASETS", "Dataset", "describe", "load", "names"]


@dataclass(frozen=True)
class Dataset:
    """A bundled dataset: its file, a description, and the level order of its factors."""

    file: str
    description: str
    #: Categorical columns and their levels, in R's factor order (the first is
    #: the reference level of a treatment contrast).
    levels: dict[str, list[str]] = field(default_factory=dict)


DATASETS: dict[str, Dataset] = {
    "mtcars": Dataset(
        "mtcars.csv",
        "Motor Trend Car Road Tests (1974): fuel consumption and 10 aspects of design and "
        "performance for 32 cars. Columns: model, mpg, cyl, disp, hp, drat, wt (1000 lbs), "
        "qsec, vs (0 = V-shaped, 1 = straight engine), am (0 = automatic, 1 = manual), "
        "gear, carb. Source: Henderson and Velleman (1981), Biometrics 37, 391-411; as in "
        "R's datasets::mtcars.",
    ),
    "iris": Dataset(
        "iris.csv",
        "Fisher's (1936) iris data: sepal and petal length and width (cm) of 50 flowers "
        "from each of 3 species. Columns: sepal_length, sepal_width, petal_length, "
        "petal_width, species. Source: Anderson (1935) and Fisher (1936); as in "
        "R's datasets::iris, columns renamed.",
        {"species": ["setosa", "versicolor", "virginica"]},
    ),
    "anes96": Dataset(
        "anes96.csv",
        "American National Election Studies 1996: party identification (7 classes, from "
        "strong Democrat to strong Republican) of 944 respondents. Columns: party, popul "
        "(population of the respondent's place, 1000s), log_popul = log(popul + 0.1), "
        "tv_news (times per week watching TV news), self_lr, clinton_lr, dole_lr (the "
        "respondent's, Clinton's and Dole's placement on a liberal (1) to conservative (7) "
        "scale, as the respondent sees them), age, educ (1-7), income (1-24 bands), vote "
        "(1 = Dole, 0 = Clinton). Source: ANES 1996; public domain, as shipped by "
        "statsmodels (statsmodels.datasets.anes96), columns renamed.",
        {"party": ["strong Democrat", "weak Democrat", "independent Democrat", "independent",
                   "independent Republican", "weak Republican", "strong Republican"]},
    ),
    "pima": Dataset(
        "pima.csv",
        "Diabetes in 532 Pima Indian women aged 21 or over near Phoenix, Arizona, tested "
        "under WHO criteria by the US National Institute of Diabetes and Digestive and "
        "Kidney Diseases. Columns: pregnancies, glucose (plasma glucose, 2-hour oral "
        "test), blood_pressure (diastolic, mm Hg), skin_fold (triceps, mm), bmi, pedigree "
        "(diabetes pedigree function), age, diabetes (No/Yes). Source: Smith et al. (1988), "
        "via R's MASS::Pima.tr and Pima.te (the complete cases), columns renamed.",
        {"diabetes": ["No", "Yes"]},
    ),
    "ucb_admissions": Dataset(
        "ucb_admissions.csv",
        "Graduate admissions at UC Berkeley in 1973 for the six largest departments, "
        "by gender: admitted and rejected applicants (a binomial response). "
        "Source: Bickel, Hammel and O'Connell (1975), Science 187, 398-403; as in "
        "R's datasets::UCBAdmissions, in long form.",
        {"gender": ["Male", "Female"], "dept": ["A", "B", "C", "D", "E", "F"]},
    ),
    "warpbreaks": Dataset(
        "warpbreaks.csv",
        "Number of warp breaks per loom (a count response) for 2 types of wool and "
        "3 levels of tension (L, M, H), 9 looms each. Source: Tippett (1950); as in "
        "R's datasets::warpbreaks.",
        {"wool": ["A", "B"], "tension": ["L", "M", "H"]},
    ),
}


def names() -> list[str]:
    """Names of the bundled datasets."""
    return sorted(DATASETS)


def describe(name: str) -> str:
    """What a bundled dataset holds and where it comes from."""
    return _get(name).description


def load(name: str) -> pd.DataFrame:
    """Load a bundled dataset as a DataFrame, with its factors as ordered-level categoricals."""
    spec = _get(name)
    with resources.files(__package__).joinpath(spec.file).open("r") as fh:
        frame = pd.read_csv(fh)
    for column, levels in spec.levels.items():
        frame[column] = pd.Categorical(frame[column], categories=levels)
    return frame


def _get(name: str) -> Dataset:
    try:
        return DATASETS[name]
    except KeyError:
        raise InputError(f"no bundled dataset {name!r}; available: {', '.join(names())}") from None
