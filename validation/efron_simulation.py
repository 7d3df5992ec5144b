"""Simulation check of Efron's (1975) efficiency of logistic regression versus LDA.

    python -m validation.efron_simulation                      # n = 500, 2000 reps, delta 1 2 3
    python -m validation.efron_simulation --deltas 2.5 3.5 --n 2000 --reps 2000
    python -m validation.efron_simulation --prior 0.25 --features 3

Each replicate draws ``n`` cases from ``x | y=k ~ N(±(delta/2) e_1, I)`` with
``P(y=1) = prior``, fits the normal discriminant in closed form (empirical
priors, class means, pooled covariance with divisor n) and logistic regression
with :class:`expfam.GLM`, and computes each rule's exact excess error rate
``ER(b, w) − ER*``.  The simulated ARE is the ratio of the mean excess errors
(LDA over logistic), with a delta-method standard error for a ratio of paired
means; the theory is :func:`expfam.comparison.efficiency.efron_efficiency`.  The ratio is
an asymptotic one: at finite ``n`` it differs by ``O(1/n)``, most at large delta.

Replicates whose classes are linearly separable (the logistic MLE does not
exist) or where the fit fails (no convergence, or an empty class) are skipped
and counted.  Replicates where expfam merely warns of fitted probabilities
numerically 0 or 1 without separation are kept (and counted): skipping them
would drop exactly the samples where logistic regression overshoots.
"""

from __future__ import annotations

import argparse
import time
import warnings
from typing import Any

import numpy as np

import expfam as ef
from expfam.comparison.efficiency import efron_efficiency, error_rate, expected_excess_errors


def _lda(y: np.ndarray, x: np.ndarray) -> tuple[float, np.ndarray]:
    """Plug-in normal discriminant ``(b, w)`` from maximum-likelihood estimates."""
    n = len(y)
    n1 = int(y.sum())
    mu1, mu0 = x[y == 1].mean(axis=0), x[y == 0].mean(axis=0)
    resid = x - np.where(y[:, None] == 1, mu1, mu0)
    sigma = resid.T @ resid / n  # the MLE: divisor n, as in Efron
    w = np.linalg.solve(sigma, mu1 - mu0)
    b = np.log(n1 / (n - n1)) - 0.5 * (mu1 + mu0) @ w
    return float(b), w


def _logistic(y: np.ndarray, x: np.ndarray) -> tuple[float, np.ndarray, bool] | None:
    """Logistic regression ``(b, w, boundary)`` by expfam's IRLS; None if it fails.

    ``boundary`` says expfam warned of fitted probabilities numerically 0 or 1.  That
    R-style warning also fires without separation when a few points lie far out (common
    at large delta), and such fits are valid, so the caller keeps them and only counts.
    """
    exog = np.column_stack([np.ones(len(y)), x])
    with warnings.catch_warnings(record=True) as caught:
        # Record instead of raising or printing: expfam's warnings are counted, not fatal.
        warnings.simplefilter("always")
        try:
            res = ef.GLM(y, exog, family="bernoulli").fit()
        except ef.ExpfamError:
            return None
    if not res.converged:
        return None
    boundary = any(issubclass(w.category, ef.SeparationWarning) for w in caught)
    params = res.params.to_numpy()
    return float(params[0]), params[1:], boundary


def _separates(b: float, w: np.ndarray, y: np.ndarray, x: np.ndarray) -> bool:
    """Whether the rule ``b + w·x > 0`` classifies every training case correctly.

    That is sufficient for separation; it is also what IRLS heads for on separated
    data (continuous x: quasi-complete separation has probability 0).
    """
    return bool(np.all((b + x @ w > 0) == (y == 1)))


def simulate(delta: float, n: int, reps: int, seed: int | None = 0, *,
             prior: float = 0.5, n_features: int = 1) -> dict[str, Any]:
    """Simulate ``reps`` training sets and compare the mean excess errors of LDA and logistic.

    Parameters
    ----------
    delta : float
        Mahalanobis distance between the class means.
    n : int
        Training-set size.
    reps : int
        Number of replicates.
    seed : int or None
        Seed for ``numpy.random.default_rng``.
    prior : float
        ``P(y=1)``.
    n_features : int
        Dimension of ``x``.

    Returns
    -------
    dict
        ``excess_lda``, ``excess_logistic`` (arrays, shape (used,)), ``used``;
        skipped replicates ``failed`` (empty class, error or no convergence) and
        ``separated``; ``boundary`` (kept replicates with expfam's
        SeparationWarning but no separation); ``are`` (simulated), ``se``, ``theory``, ``z``
        (``(are − theory)/se``), ``agree`` (``|z| ≤ 2``) and the first-order
        theoretical mean excess errors ``theory_excess_lda``/``_logistic``.
    """
    rng = np.random.default_rng(seed)
    bayes = float(error_rate(np.log(prior / (1 - prior)),
                             np.eye(n_features)[0] * delta, delta, prior))
    ex_lda, ex_log = [], []
    counts = {"failed": 0, "separated": 0, "boundary": 0}
    for _ in range(reps):
        y = (rng.random(n) < prior).astype(np.float64)
        x = rng.standard_normal((n, n_features))
        x[:, 0] += delta * (y - 0.5)  # mu_1 = +delta/2 e_1, mu_0 = -delta/2 e_1
        fit = _logistic(y, x) if 0 < y.sum() < n else None
        if fit is None:
            counts["failed"] += 1
            continue
        b_lda, w_lda = _lda(y, x)
        if _separates(fit[0], fit[1], y, x) or _separates(b_lda, w_lda, y, x):
            # The logistic MLE does not exist; IRLS stopped somewhere along a ray.
            counts["separated"] += 1
            continue
        counts["boundary"] += fit[2]
        # Excess errors are O(1/n); subtracting from ER* in double precision is ample.
        ex_lda.append(float(error_rate(b_lda, w_lda, delta, prior)) - bayes)
        ex_log.append(float(error_rate(fit[0], fit[1], delta, prior)) - bayes)
    a, b = np.asarray(ex_lda), np.asarray(ex_log)
    are = a.mean() / b.mean()
    # Delta method for a ratio of paired means: Var(mean(a − R b)) / mean(b)^2.
    se = float(np.std(a - are * b, ddof=1) / np.sqrt(len(a)) / b.mean())
    theory = efron_efficiency(delta, prior, n_features)
    th_lda, th_log = expected_excess_errors(delta, n, prior, n_features)
    return {"delta": delta, "n": n, "reps": reps, "used": len(a), **counts,
            "excess_lda": a, "excess_logistic": b, "are": float(are), "se": se,
            "theory": theory, "z": float((are - theory) / se),
            "agree": bool(abs(are - theory) <= 2 * se),
            "theory_excess_lda": th_lda, "theory_excess_logistic": th_log}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=500, help="training-set size (500)")
    parser.add_argument("--reps", type=int, default=2000, help="replicates per delta (2000)")
    parser.add_argument("--deltas", type=float, nargs="+", default=[1.0, 2.0, 3.0],
                        help="Mahalanobis distances (1 2 3)")
    parser.add_argument("--prior", type=float, default=0.5, help="P(y=1) (0.5)")
    parser.add_argument("--features", type=int, default=1, help="dimension of x (1)")
    parser.add_argument("--seed", type=int, default=20240601, help="random seed")
    args = parser.parse_args(argv)

    print(f"n = {args.n}, reps = {args.reps}, prior = {args.prior}, p = {args.features}, "
          f"seed = {args.seed}")
    header = (f"{'delta':>6} {'used':>5} {'sep':>4} {'fail':>4} {'bdry':>4} "
              f"{'mean exc LDA':>14} {'(theory)':>10} {'mean exc logit':>15} {'(theory)':>10} "
              f"{'ARE sim':>8} {'± se':>7} {'theory':>7} {'z':>6}  agree")
    print(header)
    print("-" * len(header))
    start = time.perf_counter()
    for delta in args.deltas:
        # Seed by delta, not position, so a row does not change with the others asked for.
        r = simulate(delta, args.n, args.reps, seed=args.seed + round(1000 * delta),
                     prior=args.prior, n_features=args.features)
        print(f"{delta:6.2f} {r['used']:5d} {r['separated']:4d} {r['failed']:4d} "
              f"{r['boundary']:4d} "
              f"{r['excess_lda'].mean():14.3e} {r['theory_excess_lda']:10.3e} "
              f"{r['excess_logistic'].mean():15.3e} {r['theory_excess_logistic']:10.3e} "
              f"{r['are']:8.3f} {r['se']:7.3f} {r['theory']:7.3f} {r['z']:6.2f}  "
              f"{'yes' if r['agree'] else 'NO'}")
    print(f"({time.perf_counter() - start:.1f} s; sep/fail: replicates skipped as separable or "
          "failed; bdry: kept, with expfam's SeparationWarning; agree: within 2 se)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
