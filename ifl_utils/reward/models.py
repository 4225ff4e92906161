"""Reward models as scikit-learn estimators over one wide per-query table.

Every model takes the same ``X`` (a DataFrame: behaviour features, text features and, for the text
models, embedding columns ``emb_*``) and picks its own columns by feature group, so the protocols
can run every model on the same rows and folds. Feature selection (top ``k`` by random-forest
importance) is a pipeline step, so under cross-validation it is learned inside each training fold.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin, clone
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (GradientBoostingClassifier, GradientBoostingRegressor, RandomForestClassifier,
                              RandomForestRegressor)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from ..features import feature_groups, swap_panes

#: Release RF settings of the "important features" pairwise model (paper notes §3.6).
RELEASE_RF = dict(n_estimators=100, max_depth=5, min_samples_split=5, min_samples_leaf=2, max_features="sqrt")
#: Release RF settings of the pointwise (Likert) regression on the important features.
RELEASE_RF_POINTWISE = dict(n_estimators=100, max_depth=7, min_samples_split=5, min_samples_leaf=2,
                            max_features="sqrt")

#: Length-only columns (text group; never implicit feedback).
LENGTH_COLUMNS = ("len_left", "len_right", "len_diff", "len_logratio", "query_len")


def select_columns(columns, groups: tuple[str, ...], exclude: tuple[str, ...] = ()) -> list[str]:
    """Columns of ``columns`` whose feature group is in ``groups`` (explicit names also allowed)."""
    g = feature_groups(columns)
    return [c for c in columns if (g[c] in groups or c in groups) and c not in exclude]


class TopKImportance(BaseEstimator, TransformerMixin):
    """Keep the ``k`` columns with the largest random-forest (Gini) importance on the data seen by ``fit``.

    Inside a pipeline under cross-validation this runs on the training fold only.
    """

    def __init__(self, k: int = 50, task: str = "classification", random_state: int | None = 0):
        self.k = k
        self.task = task
        self.random_state = random_state

    def fit(self, X, y):
        X = np.asarray(X, dtype=float)
        if self.k is None or self.k >= X.shape[1]:
            self.support_ = np.arange(X.shape[1])
            return self
        cls = RandomForestClassifier if self.task == "classification" else RandomForestRegressor
        rf = cls(n_estimators=200, max_depth=15, min_samples_split=10, min_samples_leaf=4, max_features="sqrt",
                 random_state=self.random_state, n_jobs=1)
        rf.fit(X, y)
        self.support_ = np.sort(np.argsort(-rf.feature_importances_, kind="stable")[: self.k])
        return self

    def transform(self, X):
        return np.asarray(X, dtype=float)[:, self.support_]


def _learner(kind: str, task: str, random_state):
    clf = task == "classification"
    if kind == "rf":
        return (RandomForestClassifier(**RELEASE_RF, random_state=random_state, n_jobs=1) if clf
                else RandomForestRegressor(**RELEASE_RF_POINTWISE, random_state=random_state, n_jobs=1))
    if kind == "gbt":
        kw = dict(n_estimators=150, max_depth=2, learning_rate=0.05, subsample=0.8, random_state=random_state)
        return GradientBoostingClassifier(**kw) if clf else GradientBoostingRegressor(**kw)
    if kind == "logreg":
        return LogisticRegression(C=0.1, max_iter=2000) if clf else Ridge(alpha=10.0)
    if kind == "majority":
        return DummyClassifier(strategy="prior") if clf else DummyRegressor(strategy="mean")
    raise ValueError(f"unknown learner {kind!r}")


class FeatureModel(BaseEstimator):
    """A reward model on a subset of feature groups: impute -> [top-k selection] -> [scale] -> learner.

    Parameters
    ----------
    groups
        Feature groups (``gaze``, ``mouse``, ``cross``, ``text``, ``embedding``) or explicit column
        names to use.
    learner
        ``rf`` (release settings), ``gbt``, ``logreg`` or ``majority``.
    select_k
        Keep the top ``k`` columns by RF importance, learned in ``fit`` (``None``: all).
    columns
        Fixed column list; overrides ``groups`` (used by the paper protocol's once-on-all-data
        selection).
    exclude
        Columns never used.
    task
        ``classification`` or ``regression``.
    symmetric
        Pairwise only: train on every pair twice (as shown and with the panes swapped, label
        flipped) and average P(right) with 1 - P(right | swapped), so the model cannot learn a
        side bias and uses each comparison in both directions.
    random_state
        Seed of every random step.
    """

    def __init__(self, groups=("gaze", "mouse", "cross"), learner: str = "rf", select_k: int | None = None,
                 columns=None, exclude=(), task: str = "classification", symmetric: bool = False,
                 random_state: int | None = 0):
        self.symmetric = symmetric
        self.groups = groups
        self.learner = learner
        self.select_k = select_k
        self.columns = columns
        self.exclude = exclude
        self.task = task
        self.random_state = random_state

    def _cols(self, X: pd.DataFrame) -> list[str]:
        if self.columns is not None:
            return list(self.columns)
        return select_columns(list(X.columns), tuple(self.groups), tuple(self.exclude))

    def fit(self, X: pd.DataFrame, y):
        self.columns_ = self._cols(X)
        if not self.columns_ and self.learner != "majority":
            raise ValueError(f"no columns of groups {self.groups} in X")
        steps = [("impute", SimpleImputer(strategy="median", keep_empty_features=True))]
        if self.select_k is not None and self.learner != "majority":
            steps.append(("select", TopKImportance(self.select_k, self.task, self.random_state)))
        if self.learner == "logreg":
            steps.append(("scale", StandardScaler()))
        steps.append(("model", _learner(self.learner, self.task, self.random_state)))
        self.pipeline_ = Pipeline(steps)
        y = np.asarray(y)
        if self.symmetric:
            X = pd.concat([X, swap_panes(X)], ignore_index=True)
            y = np.r_[y, 1 - y]
        Xs = X[self.columns_].to_numpy(dtype=float) if self.columns_ else np.zeros((len(X), 1))
        self.pipeline_.fit(Xs, y)
        if self.task == "classification":
            self.classes_ = self.pipeline_.classes_
        return self

    def _X(self, X):
        return X[self.columns_].to_numpy(dtype=float) if self.columns_ else np.zeros((len(X), 1))

    def predict(self, X):
        if self.symmetric:
            return self.classes_[(self.predict_proba(X)[:, 1] > 0.5).astype(int)]
        return self.pipeline_.predict(self._X(X))

    def predict_proba(self, X):
        p = self.pipeline_.predict_proba(self._X(X))
        if self.symmetric:
            p = (p + self.pipeline_.predict_proba(self._X(swap_panes(X)))[:, ::-1]) / 2
        return p

    def selected_columns(self) -> list[str]:
        """Columns kept after selection (all columns when there is no selection step)."""
        sel = self.pipeline_.named_steps.get("select")
        return self.columns_ if sel is None else [self.columns_[i] for i in sel.support_]


class FeatureClassifier(FeatureModel, ClassifierMixin):
    """:class:`FeatureModel` for classification (pairwise, better-than-previous)."""


class FeatureRegressor(FeatureModel, RegressorMixin):
    """:class:`FeatureModel` for regression (Likert)."""

    def __init__(self, groups=("gaze", "mouse", "cross"), learner: str = "rf", select_k: int | None = None,
                 columns=None, exclude=(), task: str = "regression", symmetric: bool = False,
                 random_state: int | None = 0):
        super().__init__(groups, learner, select_k, columns, exclude, task, symmetric, random_state)


def model_zoo(task: str = "classification", select_k: int | None = 50, random_state: int = 0) -> dict:
    """The book's models by result name (pairwise names; pointwise uses the same minus pair-only ones).

    ``text_finetuned`` is not here: it is a separate, optional model (:mod:`.finetune`).
    """
    M = FeatureClassifier if task == "classification" else FeatureRegressor
    IF = ("gaze", "mouse", "cross")
    kw = dict(task=task, random_state=random_state)
    return {
        "majority": M(groups=("cross",), learner="majority", **kw),
        "length": M(groups=LENGTH_COLUMNS, learner="logreg", **kw),
        "text_embed": M(groups=("embedding",), learner="logreg", **kw),
        # like-for-like text control of text_if: the same forest and selection, text features only
        "text_rf": M(groups=("text",), learner="rf", select_k=select_k, **kw),
        "if_rf": M(groups=IF, learner="rf", select_k=select_k, **kw),
        "if_gbt": M(groups=IF, learner="gbt", select_k=select_k, **kw),
        "if_logreg": M(groups=IF, learner="logreg", select_k=select_k, **kw),
        "text_if": M(groups=IF + ("text",), learner="rf", select_k=select_k, **kw),
        "if_minus_gaze": M(groups=("mouse", "cross"), learner="rf", select_k=select_k,
                           exclude=("gm_engaged_ratio_left", "gm_engaged_ratio_right", "gm_pane_agree",
                                    "gm_pos_corr"), **kw),
        "if_minus_mouse": M(groups=("gaze", "cross"), learner="rf", select_k=select_k,
                            exclude=("gm_engaged_ratio_left", "gm_engaged_ratio_right", "gm_pane_agree",
                                     "gm_pos_corr"), **kw),
    }


def with_columns(model, columns) -> BaseEstimator:
    """A clone of ``model`` fixed to ``columns`` and without in-fit selection (paper protocol)."""
    m = clone(model)
    m.set_params(columns=list(columns), select_k=None)
    return m
