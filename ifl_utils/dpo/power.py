"""Power of the chapter's comparison, by simulating its outcome with a surrogate calibrated on the
positive control.

Surrogate (every assumption is a parameter):

* **Label accuracy -> held-out accuracy is linear.** A source whose labels agree with the workers'
  choices on a share ``a`` of pairs gives a policy with expected held-out implicit-reward accuracy
  ``mu(a) = 0.5 + (D / 2) (2 a - 1)``, where ``D`` is the measured control effect
  (explicit, a = 1, minus reversed, a = 0). Random labels (a = 0.5) sit at 0.5.
* **Per-pair outcomes** are probit draws, ``correct = 1[x < Phi^-1(mu)]`` with
  ``x = sqrt(1 - tau2) (sqrt(rho) c_pair + sqrt(1 - rho) e_source,pair) + sqrt(tau2) u_worker``:
  ``rho`` is the latent correlation of two sources' outcomes on the same pair (calibrated so that the
  simulated correlation of correctness matches the measured one), ``tau2`` the between-worker share
  of latent variance (calibrated on the measured between-worker variance of correctness).
* **Workers** contribute pairs as in the data (their capped pair counts, resampled with replacement).
* **The test** is the chapter's: the paired difference of two sources' accuracies on the same pairs
  with a worker-cluster interval (normal approximation with a cluster-robust standard error here,
  for speed; the chapter checks it against its bootstrap); "detected" = the 95 % interval excludes 0
  on the side of the true effect.
* Training-seed noise, fold-to-fold differences and any non-linearity in ``mu(a)`` are not modelled.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm


@dataclass(frozen=True)
class Surrogate:
    """Calibrated surrogate of held-out accuracy (see the module docstring)."""

    control_effect: float          # D = acc(explicit) - acc(reversed)
    rho: float                     # latent correlation of two sources on the same pair
    tau2: float                    # between-worker share of latent variance

    def mu(self, label_accuracy: float) -> float:
        """Expected held-out accuracy of a source with this label accuracy."""
        return float(np.clip(0.5 + self.control_effect / 2 * (2 * label_accuracy - 1), 1e-6, 1 - 1e-6))


def simulate(s: Surrogate, a: float, b: float, pairs_per_worker: np.ndarray, n_workers: int,
             n_sims: int = 500, seed: int = 0, z: float = 1.959964) -> dict:
    """Share of simulated studies in which the paired difference (source a minus source b) is
    detected (interval excludes 0 on the side of mu(a) - mu(b)); also the mean estimate."""
    rng = np.random.default_rng(seed)
    ta, tb = norm.ppf(s.mu(a)), norm.ppf(s.mu(b))
    sign = np.sign(s.mu(a) - s.mu(b)) or 1.0
    hits, ests = 0, []
    ppw = np.asarray(pairs_per_worker, int)
    for _ in range(n_sims):
        k = rng.choice(ppw, n_workers, replace=True)
        w = np.repeat(np.arange(n_workers), k)
        n = len(w)
        u = rng.standard_normal(n_workers)[w]
        c = rng.standard_normal(n)
        base = np.sqrt(s.rho) * c
        xa = np.sqrt(1 - s.tau2) * (base + np.sqrt(1 - s.rho) * rng.standard_normal(n)) + np.sqrt(s.tau2) * u
        xb = np.sqrt(1 - s.tau2) * (base + np.sqrt(1 - s.rho) * rng.standard_normal(n)) + np.sqrt(s.tau2) * u
        d = (xa < ta).astype(float) - (xb < tb).astype(float)
        est = d.mean()
        r = np.bincount(w, weights=d - est, minlength=n_workers)
        se = np.sqrt((r ** 2).sum() * n_workers / max(n_workers - 1, 1)) / n
        ests.append(est)
        hits += bool(sign * est - z * se > 0)
    return {"power": hits / n_sims, "mean_difference": float(np.mean(ests)), "true_difference": s.mu(a) - s.mu(b)}


def calibrate(control_effect: float, corr_correct: float, worker_var: float, mean_acc: float,
              pairs_per_worker: np.ndarray, seed: int = 0, n: int = 200_000) -> Surrogate:
    """Surrogate whose simulated correctness correlation between two sources and between-worker
    variance of worker accuracies match ``corr_correct`` and ``worker_var`` (measured).

    ``worker_var`` is the between-worker variance of the true worker accuracy (method of moments:
    variance of worker means minus the binomial part). Both are fitted by bisection.
    """
    rng = np.random.default_rng(seed)
    mu = float(np.clip(mean_acc, 0.05, 0.95))
    t = norm.ppf(mu)
    c, e1, e2 = rng.standard_normal((3, n))

    def corr_for(rho: float) -> float:
        a = (np.sqrt(rho) * c + np.sqrt(1 - rho) * e1) < t
        b = (np.sqrt(rho) * c + np.sqrt(1 - rho) * e2) < t
        return float(np.corrcoef(a, b)[0, 1])

    target = float(np.clip(corr_correct, 0.0, 0.99))
    lo, hi = 0.0, 0.999
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if corr_for(mid) < target else (lo, mid)
    rho = (lo + hi) / 2
    # between-worker variance of P(correct | u) = Phi((t - sqrt(tau2) u) / sqrt(1 - tau2))
    u = rng.standard_normal(20_000)

    def var_for(tau2: float) -> float:
        return float(np.var(norm.cdf((t - np.sqrt(tau2) * u) / np.sqrt(1 - tau2))))

    target_v = max(float(worker_var), 0.0)
    lo, hi = 0.0, 0.95
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if var_for(mid) < target_v else (lo, mid)
    return Surrogate(control_effect=float(control_effect), rho=float(rho), tau2=float((lo + hi) / 2))


def worker_variance(correct: np.ndarray, workers: np.ndarray) -> float:
    """Method-of-moments between-worker variance of true accuracy (>= 0)."""
    d = pd.DataFrame({"w": np.asarray(workers).astype(str), "y": np.asarray(correct, float)})
    g = d.groupby("w")["y"].agg(["mean", "size"])
    p = d["y"].mean()
    binom = (p * (1 - p) / g["size"]).mean()
    return float(max(g["mean"].var(ddof=1) - binom, 0.0))


def power_curve(s: Surrogate, a: float, b: float, pairs_per_worker: np.ndarray, workers_grid,
                n_sims: int = 500, seed: int = 0) -> pd.DataFrame:
    """Power against the number of workers (pairs per worker as in the data)."""
    rows = []
    for i, m in enumerate(workers_grid):
        r = simulate(s, a, b, pairs_per_worker, int(m), n_sims=n_sims, seed=seed + i)
        rows.append({"workers": int(m), "pairs": int(round(m * np.mean(pairs_per_worker))), **r})
    return pd.DataFrame(rows)


def needed(curve: pd.DataFrame, target: float = 0.8) -> dict:
    """Smallest simulated size with power >= ``target`` (log-linear interpolation between grid points);
    ``None`` values when the grid never reaches it."""
    c = curve.sort_values("workers").reset_index(drop=True)
    ok = np.flatnonzero(c["power"].to_numpy() >= target)
    if not len(ok):
        return {"workers": None, "pairs": None}
    i = ok[0]
    if i == 0:
        return {"workers": int(c.loc[0, "workers"]), "pairs": int(c.loc[0, "pairs"])}
    p0, p1 = c.loc[i - 1, "power"], c.loc[i, "power"]
    w0, w1 = np.log(c.loc[i - 1, "workers"]), np.log(c.loc[i, "workers"])
    w = float(np.exp(w0 + (target - p0) / max(p1 - p0, 1e-9) * (w1 - w0)))
    ratio = c.loc[i, "pairs"] / c.loc[i, "workers"]
    return {"workers": int(np.ceil(w)), "pairs": int(np.ceil(w * ratio))}
