"""How much reading behaviour differs between people: per-worker measures and the share of variance
that lies between workers (random-intercept model, with a one-way ANOVA as a cross-check)."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

#: Measures (curve-level ``meta`` columns) and the transform used for variance decomposition.
MEASURES = {
    "in_share": ("share of the query's samples on this answer", "identity"),
    "speed_cps": ("reading speed: furthest character per second of dwell (characters/s)", "log"),
    "furthest": ("depth: furthest position reached (share of the answer)", "identity"),
}


def worker_summary(meta: pd.DataFrame) -> pd.DataFrame:
    """Per worker: curves and the median of each measure of :data:`MEASURES`."""
    g = meta.groupby("worker")
    out = g.agg(curves=("curve", "size"), **{m: (m, "median") for m in MEASURES})
    return out.sort_values("curves", ascending=False)


def _transform(y: np.ndarray, how: str) -> np.ndarray:
    return np.log(np.maximum(y, 1e-3)) if how == "log" else y


def anova_eta2(y, groups) -> float:
    """Share of the variance of ``y`` between ``groups`` (one-way ANOVA eta squared)."""
    y = np.asarray(y, dtype=float)
    codes, _ = pd.factorize(pd.Series(np.asarray(groups)).astype(str))
    n = np.bincount(codes)
    means = np.bincount(codes, weights=y) / n
    ss_between = (n * (means - y.mean()) ** 2).sum()
    ss_total = ((y - y.mean()) ** 2).sum()
    return float(ss_between / ss_total) if ss_total > 0 else float("nan")


def icc_mixed(y, groups) -> dict:
    """Intraclass correlation from a random-intercept model ``y ~ 1 + (1 | worker)`` (statsmodels, REML).

    Returns ``icc`` (between-worker variance / total), the two variances and whether the fit
    converged (warnings are captured, not printed).
    """
    import statsmodels.formula.api as smf

    d = pd.DataFrame({"y": np.asarray(y, dtype=float), "g": pd.Series(np.asarray(groups)).astype(str).to_numpy()})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # statsmodels' default optimiser chain (bfgs first); lbfgs alone stalls at the zero boundary here
        fit = smf.mixedlm("y ~ 1", d, groups=d["g"]).fit(reml=True)
    between = float(fit.cov_re.iloc[0, 0])
    within = float(fit.scale)
    return {"icc": between / (between + within) if between + within > 0 else float("nan"),
            "between": between, "within": within, "converged": bool(fit.converged),
            "boundary_warning": any("boundary" in str(w.message).lower() for w in caught)}


def variance_between_workers(meta: pd.DataFrame, leave_out_top: int = 5) -> pd.DataFrame:
    """For each measure: ICC (mixed model) and eta squared (ANOVA), on all workers and without the
    ``leave_out_top`` workers with the most curves. One row per (measure, subset)."""
    heavy = meta["worker"].value_counts().sort_index().sort_values(ascending=False, kind="stable")
    drop = set(heavy.index[:leave_out_top])
    rows = []
    for m, (_, how) in MEASURES.items():
        for subset, d in (("all workers", meta), (f"without top {leave_out_top}", meta[~meta["worker"].isin(drop)])):
            d = d[np.isfinite(d[m].to_numpy(dtype=float))]
            y = _transform(d[m].to_numpy(dtype=float), how)
            mixed = icc_mixed(y, d["worker"])
            rows.append({"measure": m, "subset": subset, "curves": len(d), "workers": d["worker"].nunique(),
                         "icc": mixed["icc"], "eta2": anova_eta2(y, d["worker"]),
                         "converged": mixed["converged"], "boundary_warning": mixed["boundary_warning"]})
    return pd.DataFrame(rows)
