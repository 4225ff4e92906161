"""Item 5: does gaze add anything to a reward model once the cursor is accounted for?

Inputs for the reward chapter's worker-grouped protocol (same pairs, same folds, same learner):

``idle_gaze_*`` columns
    the behaviour chapter's gaze features (:func:`ifl_utils.features.behaviour_features`)
    recomputed from the callbacks at which the cursor had not moved for ``idle_s`` seconds, when
    the tracker's mouse trail is empty.
:class:`ResidualGazeClassifier`
    gaze features minus their prediction from the mouse features (a ridge regression fitted on the
    training fold only): the part of gaze not predicted by the cursor.

Every model here is a random forest with the release's settings and in-fold top-50 selection
(:class:`ifl_utils.reward.models.FeatureClassifier`); cross-modality features are left out so that
"gaze" and "mouse" mean one stream each.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.preprocessing import StandardScaler

from .. import features as F
from ..reward.models import FeatureClassifier
from .cursor import time_since_move

IDLE_PREFIX = "idle_"
#: Columns of ``Dataset.samples()`` that :func:`idle_mask` and the feature extractor read.
SAMPLE_INPUT = list(dict.fromkeys(F.SAMPLE_INPUT + ["worker", "task_id", "session", "epoch", "mouse_x", "mouse_y"]))


def idle_mask(samples: pd.DataFrame, idle_s: float) -> np.ndarray:
    """True for the callbacks (in ``samples``' row order) whose cursor has not moved for at least
    ``idle_s`` seconds (see :func:`~ifl_utils.validity.cursor.time_since_move`); False where that
    is unknown."""
    w = pd.factorize(samples["worker"], sort=True)[0]
    tk = samples["task_id"].to_numpy()
    ss = samples["session"].to_numpy()
    t = samples["epoch"].to_numpy(float)
    order = np.lexsort((t, ss, tk, w))
    wo, tko, sso = w[order], tk[order], ss[order]
    new = np.r_[True, (wo[1:] != wo[:-1]) | (tko[1:] != tko[:-1]) | (sso[1:] != sso[:-1])]
    since = time_since_move(np.cumsum(new), t[order], samples["mouse_x"].to_numpy(float)[order],
                            samples["mouse_y"].to_numpy(float)[order])
    out = np.zeros(len(samples), bool)
    out[order] = np.isfinite(since) & (since >= idle_s)
    return out


def gaze_columns(columns) -> list[str]:
    """The gaze-group feature columns of ``columns``."""
    g = F.feature_groups(columns)
    return [c for c in columns if g[c] == "gaze"]


def mouse_columns(columns) -> list[str]:
    """The mouse-group feature columns of ``columns``."""
    g = F.feature_groups(columns)
    return [c for c in columns if g[c] == "mouse"]


def idle_gaze_features(samples: pd.DataFrame, idle_s: float) -> pd.DataFrame:
    """Gaze features per query (index ``query_id``) from the mouse-idle callbacks only, columns
    prefixed ``idle_`` (``idle_gaze_left_n``, ...)."""
    beh = F.behaviour_features(samples[idle_mask(samples, idle_s)])
    return beh[gaze_columns(beh.columns)].add_prefix(IDLE_PREFIX)


def add_idle_gaze(X: pd.DataFrame, rows: pd.DataFrame, idle: pd.DataFrame) -> pd.DataFrame:
    """``X`` (rows of :func:`ifl_utils.reward.pipeline.design`) with the idle gaze columns joined
    by query; pointwise-only right-pane columns stay NaN as in ``X``."""
    extra = idle.reindex(rows["query_id"].to_numpy()).reset_index(drop=True)
    return pd.concat([X.reset_index(drop=True), extra], axis=1)


class ResidualGazeClassifier(BaseEstimator, ClassifierMixin):
    """Random forest on gaze features with the mouse's prediction of them removed (plus, when
    ``with_mouse``, the mouse features themselves).

    In ``fit``: impute medians, standardise the mouse features, fit a ridge regression of every gaze
    feature on all mouse features (training rows only), replace the gaze features by their residuals,
    then fit :class:`~ifl_utils.reward.models.FeatureClassifier` (release RF, in-fold top-``select_k``).
    """

    def __init__(self, with_mouse: bool = False, alpha: float = 1.0, select_k: int | None = 50,
                 task: str = "classification", random_state: int | None = 0):
        self.with_mouse = with_mouse
        self.alpha = alpha
        self.select_k = select_k
        self.task = task
        self.random_state = random_state

    def _residual_frame(self, X: pd.DataFrame) -> pd.DataFrame:
        G = self.g_imp_.transform(X[self.gaze_].to_numpy(float))
        M = self.scale_.transform(self.m_imp_.transform(X[self.mouse_].to_numpy(float)))
        R = G - self.ridge_.predict(M)
        out = pd.DataFrame(R, columns=[f"res_{c}" for c in self.gaze_], index=X.index)
        if self.with_mouse:
            out = pd.concat([out, X[self.mouse_]], axis=1)
        return out

    def fit(self, X: pd.DataFrame, y):
        self.gaze_ = [c for c in gaze_columns(X.columns) if not c.startswith(IDLE_PREFIX)]
        self.mouse_ = mouse_columns(X.columns)
        if not self.gaze_ or not self.mouse_:
            raise ValueError("ResidualGazeClassifier needs gaze_* and mouse_* feature columns in X")
        self.g_imp_ = SimpleImputer(strategy="median", keep_empty_features=True).fit(X[self.gaze_].to_numpy(float))
        self.m_imp_ = SimpleImputer(strategy="median", keep_empty_features=True).fit(X[self.mouse_].to_numpy(float))
        M = self.m_imp_.transform(X[self.mouse_].to_numpy(float))
        self.scale_ = StandardScaler().fit(M)
        self.ridge_ = Ridge(alpha=self.alpha).fit(self.scale_.transform(M), self.g_imp_.transform(X[self.gaze_].to_numpy(float)))
        Z = self._residual_frame(X)
        self.model_ = FeatureClassifier(groups=tuple(Z.columns), learner="rf", select_k=self.select_k,
                                        task=self.task, random_state=self.random_state).fit(Z, y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X: pd.DataFrame):
        return self.model_.predict_proba(self._residual_frame(X))

    def predict(self, X: pd.DataFrame):
        return self.model_.predict(self._residual_frame(X))

    def residual_r2(self, X: pd.DataFrame) -> float:
        """Share of the (imputed) gaze features' variance the mouse features explain on ``X``."""
        G = self.g_imp_.transform(X[self.gaze_].to_numpy(float))
        M = self.scale_.transform(self.m_imp_.transform(X[self.mouse_].to_numpy(float)))
        R = G - self.ridge_.predict(M)
        sst = ((G - G.mean(axis=0)) ** 2).sum(axis=0)
        ok = sst > 0
        return float(np.mean(1 - (R[:, ok] ** 2).sum(axis=0) / sst[ok]))


#: The models of item 5, by result name.
MODEL_NAMES = ("majority", "mouse_only", "gaze_only", "gaze_mouse", "idle_gaze_only", "if_idle_gaze",
               "gaze_residual_only", "gaze_residual")

#: Paired differences reported (a - b), each on the same pairs and folds.
CONTRASTS = (("gaze_mouse", "mouse_only"), ("if_idle_gaze", "mouse_only"), ("gaze_residual", "mouse_only"),
             ("gaze_only", "mouse_only"), ("gaze_only", "majority"), ("idle_gaze_only", "majority"),
             ("gaze_residual_only", "majority"), ("gaze_only", "idle_gaze_only"))


def validity_models(X: pd.DataFrame, select_k: int = 50) -> dict:
    """The estimators of :data:`MODEL_NAMES` for the columns of ``X`` (with ``idle_gaze_*`` added)."""
    gaze = [c for c in gaze_columns(X.columns) if not c.startswith(IDLE_PREFIX)]
    mouse = mouse_columns(X.columns)
    idle = [c for c in X.columns if c.startswith(IDLE_PREFIX + "gaze_")]
    if not idle:
        raise ValueError("X has no idle_gaze_* columns: join them with add_idle_gaze first")

    def rf(cols):
        return FeatureClassifier(groups=tuple(cols), learner="rf", select_k=select_k)

    return {
        "majority": FeatureClassifier(groups=tuple(mouse[:1]), learner="majority"),
        "mouse_only": rf(mouse),
        "gaze_only": rf(gaze),
        "gaze_mouse": rf(gaze + mouse),
        "idle_gaze_only": rf(idle),
        "if_idle_gaze": rf(idle + mouse),
        "gaze_residual_only": ResidualGazeClassifier(with_mouse=False, select_k=select_k),
        "gaze_residual": ResidualGazeClassifier(with_mouse=True, select_k=select_k),
    }


def run_key(config: dict) -> str:
    """Cache key of a validity model run: hash of ``config`` and of the source of every module the
    run depends on (features, reward models and protocols, this module)."""
    from ..reward import models as rm
    from ..reward import protocols as rp

    h = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode())
    for mod in (F, rm, rp):
        h.update(Path(mod.__file__).read_bytes())
    h.update(Path(__file__).read_bytes())
    return h.hexdigest()[:20]


def cached_run(models: dict, X: pd.DataFrame, rows: pd.DataFrame, seeds, cache_dir: Path, key: str,
               n_jobs: int = 1):
    """:func:`ifl_utils.reward.protocols.run_protocol` (grouped) with its out-of-fold table cached
    under ``cache_dir/validity-run-<key>.parquet`` (written atomically); returns the ``Run``.

    With ``n_jobs > 1`` the models run in parallel processes, one ``run_protocol`` each: the folds
    depend only on the seed, the labels and the workers, so the result is the same as one call."""
    from ..io import read_parquet, write_parquet_atomic
    from ..reward import protocols

    path = Path(cache_dir) / f"validity-run-{key}.parquet"
    if path.is_file():
        oof = read_parquet(path)
        return protocols.Run(rows=rows[["query_id", "worker", "y"]].reset_index(drop=True), oof=oof,
                             task="classification", protocol="grouped", selected={})
    if n_jobs > 1:
        from joblib import Parallel, delayed

        parts = Parallel(n_jobs=n_jobs)(delayed(protocols.run_protocol)({k: clone(v)}, X, rows, "grouped",
                                                                         seeds=tuple(seeds)) for k, v in models.items())
        oof = pd.concat([p.oof for p in parts], ignore_index=True)
        run = protocols.Run(rows=parts[0].rows, oof=oof, task="classification", protocol="grouped", selected={})
    else:
        run = protocols.run_protocol({k: clone(v) for k, v in models.items()}, X, rows, "grouped", seeds=tuple(seeds))
    write_parquet_atomic(path, run.oof, index=False)
    return run


def validity_design(queries: pd.DataFrame, features: pd.DataFrame, samples: pd.DataFrame, excluded: set[str],
                    idle_s: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows and ``X`` of the reward chapter's pairwise task (:func:`ifl_utils.reward.pipeline.design`,
    the same pairs for the same exclusion) with the idle gaze columns joined."""
    from ..reward import pipeline

    no_embeddings = pd.DataFrame(index=pd.Index([], name="query_id"))
    rows, X = pipeline.design(queries, features, no_embeddings, "pairwise", excluded)
    return rows, add_idle_gaze(X, rows, idle_gaze_features(samples, idle_s))


def model_table(run, n_resamples: int, seed: int = 0) -> pd.DataFrame:
    """Accuracy and AUC with worker-bootstrap CIs per model of :data:`MODEL_NAMES` (order kept)."""
    from ..reward import pipeline

    t = pipeline.classification_table(run, n_resamples, seed).set_index("model")
    return t.loc[[m for m in MODEL_NAMES if m in t.index]].reset_index()


def contrast_table(run, n_resamples: int, seed: int = 0, contrasts=CONTRASTS) -> pd.DataFrame:
    """Paired accuracy differences a - b (:func:`ifl_utils.reward.protocols.paired_difference`)."""
    from ..reward import protocols

    out = []
    for a, b in contrasts:
        d = protocols.paired_difference(run, a, b, n_resamples=n_resamples, seed=seed)
        out.append({"a": a, "b": b, "contrast": f"{a} − {b}", "diff": d["diff"], "lo": d["ci"][0],
                    "hi": d["ci"][1], "p": d["p"], "pairs": d["n"], "workers": d["workers"]})
    return pd.DataFrame(out)
