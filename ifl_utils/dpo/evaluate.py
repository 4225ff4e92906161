"""Evaluation of the DPO policies.

* Implicit-reward accuracy: on held-out human-labelled pairs of test workers, the policy's implicit
  reward beta * (log pi - log pi_ref) of the worker's preferred answer vs the other one.
* Offline proxy judge: a Bradley-Terry reward model, linear in frozen all-MiniLM-L6-v2 embeddings,
  fitted only on the training workers' explicit labels. score(q, a) = w . [e(a), e(q) * e(a)], so
  P(right preferred) = sigmoid(score(q, a2) - score(q, a1)). It scores SFT and DPO generations of
  the same held-out prompts; gain = mean(score_DPO - score_SFT), win rate = share of prompts where
  DPO scores higher (ties count half). Scores are logits with an arbitrary zero, so a "ratio to SFT"
  is not defined on this scale; the chapter reports ratios between label sources' gains instead.
* Bootstrap intervals resample test workers (:func:`ifl_utils.stats.bootstrap_ci`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..stats import bootstrap_ci


def implicit_margins(run: dict, beta: float) -> pd.DataFrame:
    """Per held-out pair: worker, right_preferred and the implicit-reward margin preferred - other."""
    t = run["test"]
    pol, ref = np.asarray(t["policy"], float).reshape(-1, 2), np.asarray(t["ref"], float).reshape(-1, 2)
    r = beta * (pol - ref)                      # columns: pane 1 (left), pane 2 (right)
    right = np.asarray(t["right_preferred"]) == 1
    margin = np.where(right, r[:, 1] - r[:, 0], r[:, 0] - r[:, 1])
    return pd.DataFrame({"query_id": t["query_id"], "worker": t["worker"], "right_preferred": right.astype(int),
                         "margin": margin})


def accuracy(margins: pd.Series | np.ndarray) -> float:
    """Share of pairs with a positive margin; ties count half.

    >>> accuracy(np.array([1.0, -1.0, 0.0, 2.0]))
    0.625
    """
    m = np.asarray(margins, dtype=float)
    return float(((m > 0) + 0.5 * (m == 0)).mean()) if len(m) else float("nan")


def implicit_accuracy(run: dict, beta: float, n_resamples: int = 1000, seed: int = 0) -> dict:
    """Implicit-reward preference accuracy with a worker-bootstrap CI."""
    d = implicit_margins(run, beta)
    est, ci = bootstrap_ci(d, lambda x: accuracy(x["margin"]), n_resamples=n_resamples, random_state=seed)
    return {"accuracy": est, "ci": ci, "n": len(d), "workers": d["worker"].nunique()}


@dataclass
class ProxyJudge:
    """Linear Bradley-Terry reward model on frozen MiniLM embeddings (see module docstring)."""

    weights: np.ndarray
    train_accuracy: float
    n_train: int

    @staticmethod
    def _embed(texts: list[str]) -> np.ndarray:
        from ..reward.embed import cached_encode

        return cached_encode([str(t) for t in texts])

    @staticmethod
    def _features(eq: np.ndarray, ea: np.ndarray) -> np.ndarray:
        return np.hstack([ea, eq * ea])

    @classmethod
    def fit(cls, pairs: pd.DataFrame, C: float = 1.0) -> "ProxyJudge":
        """Fit on pairs with ``question``, ``response_1``, ``response_2``, ``right_preferred``."""
        from sklearn.linear_model import LogisticRegression

        d = pairs[pairs["right_preferred"].notna()]
        n = len(d)
        e = cls._embed(list(d["question"]) + list(d["response_1"]) + list(d["response_2"]))
        eq, e1, e2 = e[:n], e[n:2 * n], e[2 * n:]
        x = cls._features(eq, e2) - cls._features(eq, e1)
        y = d["right_preferred"].astype(int).to_numpy()
        lr = LogisticRegression(C=C, fit_intercept=False, max_iter=5000)
        lr.fit(np.vstack([x, -x]), np.concatenate([y, 1 - y]))   # symmetric in the panes
        w = lr.coef_.ravel()
        return cls(weights=w, train_accuracy=float(((x @ w > 0) == (y == 1)).mean()), n_train=n)

    def score(self, questions: list[str], answers: list[str]) -> np.ndarray:
        """Reward (logit scale) of each answer to its question."""
        n = len(questions)
        e = self._embed(list(questions) + list(answers))
        return self._features(e[:n], e[n:]) @ self.weights

    def pair_accuracy(self, pairs: pd.DataFrame) -> pd.DataFrame:
        """Per labelled pair: worker and margin score(preferred) - score(other)."""
        d = pairs[pairs["right_preferred"].notna()]
        s1 = self.score(list(d["question"]), list(d["response_1"]))
        s2 = self.score(list(d["question"]), list(d["response_2"]))
        right = d["right_preferred"].astype(int).to_numpy() == 1
        return pd.DataFrame({"worker": d["worker"].to_numpy(), "margin": np.where(right, s2 - s1, s1 - s2)})


def win_rate(diff) -> float:
    """Share of positive differences, ties half."""
    return accuracy(diff)


def gain_summary(table: pd.DataFrame, n_resamples: int = 1000, seed: int = 0) -> dict:
    """Gain (mean DPO - SFT score) and win rate with worker-bootstrap CIs; ``table``: worker, diff."""
    g, gci = bootstrap_ci(table, lambda x: float(x["diff"].mean()), n_resamples=n_resamples, random_state=seed)
    w, wci = bootstrap_ci(table, lambda x: win_rate(x["diff"]), n_resamples=n_resamples, random_state=seed)
    return {"gain": g, "gain_ci": gci, "win_rate": w, "win_rate_ci": wci, "n": len(table),
            "workers": table["worker"].nunique()}


def gain_ratio(a: pd.DataFrame, b: pd.DataFrame, n_resamples: int = 1000, seed: int = 0) -> dict:
    """Ratio of mean gains a / b on the same prompts (e.g. IF RM vs text RM), worker-bootstrap CI.

    A ratio is only meaningful when the denominator's gain is clearly positive; the CI then shows
    whether "nearly triples" (ratio ~ 3) is within reach of the data.
    """
    d = pd.DataFrame({"worker": a["worker"].to_numpy(), "a": a["diff"].to_numpy(), "b": b["diff"].to_numpy()})

    def stat(x):
        den = x["b"].mean()
        return float(x["a"].mean() / den) if den != 0 else float("nan")

    est, ci = bootstrap_ci(d, stat, n_resamples=n_resamples, random_state=seed)
    return {"ratio": est, "ci": ci, "n": len(d)}
