"""The release's pairwise feature set, rebuilt the release's way from our sample table, and the
one-change-at-a-time path from the release's protocol to ours.

The release's forest reads 50 hard-coded names (``feature_creator/important_features_paper.py``,
``PAIRWISE_IMPORTANT_FEATURES``); 47 of them exist in its extractor's output (paper notes §3.3,
§5 item 10). They come from three families, rebuilt here by the release's definitions from our
callbacks (turn assignment by our time rule, so values differ from the release's own table):

* per answer and modality, from the turn's samples (``response_A/B_<m>_*``; A = left pane):
  overall attention ratio (on-text samples / all samples), focused engagement ratio (sum of gaps
  between consecutive on-text samples, each capped at 1 s, over the on-text span), mean and
  variance of the normalised position, completion ratio, on-text samples, and 20 time windows of
  the on-text span (mean position, 0 when empty);
* ``all_metrics`` per turn: maximum character index per pane and its ratio to the answer length,
  samples inside each pane, entries into each pane, camera-OK samples, the three lengths;
* phase features of the **whole conversation** (the release passed whole task files, so these
  are identical for every turn of a conversation, notes §5 item 3): engaged time, engaged share
  and on-pane ratio per pane in the reviewing phase (up to the last moment any answer text was
  read), left/right comparisons and gaze/mouse duration ratios.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

#: ``PAIRWISE_IMPORTANT_FEATURES`` of the release, in its order.
RELEASE_LISTED = (
    "mouse_max_idx_right", "gaze_left_reviewing_engaged_time_s", "gaze_max_idx_right",
    "response_A_gaze_overall_attention_ratio", "response_length_left", "user_query_length",
    "response_B_mouse_overall_attention_ratio", "gaze_total_entries_right", "response_length_right",
    "response_B_mouse_focused_engagement_ratio", "gaze_right_reviewing_engaged_time_s",
    "response_A_gaze_focused_engagement_ratio", "response_A_gaze_window_001", "gaze_max_idx_left",
    "gaze_onscreen_points_right", "response_A_mouse_overall_attention_ratio", "mouse_onscreen_points_right",
    "response_B_gaze_window_019", "response_A_mouse_focused_engagement_ratio", "mouse_max_idx_left",
    "mouse_comparison_reviewing_time_ratio", "mouse_total_entries_right", "response_B_gaze_overall_attention_ratio",
    "mouse_comparison_reviewing_time_diff", "mouse_total_entries_left", "gaze_left_reviewing_engaged_pct",
    "response_B_gaze_window_002", "mouse_comparison_which_side_read_further", "response_A_gaze_window_000",
    "gaze_onscreen_points_left", "cross_modality_right_reviewing_duration_ratio_gaze_mouse",
    "mouse_right_reviewing_onscreen_ratio", "cross_modality_left_reviewing_duration_ratio_gaze_mouse",
    "gaze_total_entries_left", "gaze_left_reviewing_active_ratio", "response_A_gaze_normalized_avg_char_position",
    "response_B_mouse_window_019", "mouse_right_reviewing_offscreen_ratio", "response_A_mouse_window_000",
    "camera_green", "mouse_max_idx_ratio_right", "gaze_right_reviewing_onscreen_ratio",
    "response_A_gaze_window_002", "gaze_right_reviewing_offscreen_ratio", "mouse_left_reviewing_onscreen_ratio",
    "response_A_mouse_normalized_avg_char_position", "mouse_comparison_reviewing_activity_ratio",
    "response_B_gaze_window_000", "gaze_left_reviewing_onscreen_ratio", "mouse_onscreen_points_left",
)
#: Listed names the release's extractor never produces (silently dropped there, notes §5 item 10).
NOT_PRODUCED = ("gaze_left_reviewing_active_ratio", "gaze_right_reviewing_offscreen_ratio",
                "mouse_right_reviewing_offscreen_ratio")
#: The 47 listed features the release's forest actually used.
LISTED = tuple(n for n in RELEASE_LISTED if n not in NOT_PRODUCED)
#: Text lengths the release counted among its implicit-feedback features (notes §5 item 4).
LENGTHS = ("response_length_left", "response_length_right", "user_query_length")
N_WINDOWS = 20
GAP_CAP_MS = 1000.0
SIDES = {1: "left", 2: "right"}
LETTER = {1: "A", 2: "B"}
MODALITIES = ("gaze", "mouse")
SAMPLE_COLUMNS = (["worker", "task_id", "query_id", "epoch", "valid"]
                  + [f"{m}{p}_{k}" for m in MODALITIES for p in (1, 2) for k in ("in", "pos", "char")])


def _seg_sum(key: np.ndarray, n: int, w) -> np.ndarray:
    return np.bincount(key, weights=np.asarray(w, dtype=float), minlength=n)


def _seg_max(key: np.ndarray, n: int, v: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = np.full(n, -np.inf)
    np.maximum.at(out, key[mask], v[mask])
    out[~np.isfinite(out)] = np.nan
    return out


def _seg_min(key: np.ndarray, n: int, v: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = np.full(n, np.inf)
    np.minimum.at(out, key[mask], v[mask])
    out[~np.isfinite(out)] = np.nan
    return out


def _capped_gaps(key: np.ndarray, t: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    """Per group: sum over consecutive ``mask`` samples (time order within group) of min(gap, 1 s)."""
    k, tt = key[mask], t[mask]
    if len(k) < 2:
        return np.zeros(n)
    same = k[1:] == k[:-1]
    g = np.minimum(np.diff(tt), GAP_CAP_MS)
    return np.bincount(k[1:][same], weights=g[same], minlength=n)


def _ratio(a, b):
    """The release's comparison ratio: min(a / (b + 0.001), 100)."""
    return np.minimum(np.asarray(a, float) / (np.asarray(b, float) + 0.001), 100.0)


def turn_features(s: pd.DataFrame, lengths: pd.DataFrame) -> pd.DataFrame:
    """Per-answer and ``all_metrics`` features per turn (index ``query_id``) from its samples."""
    s = s[s["query_id"].to_numpy() >= 0]
    order = np.lexsort((s["epoch"].to_numpy(), s["query_id"].to_numpy()))
    qid = s["query_id"].to_numpy()[order]
    t = s["epoch"].to_numpy()[order].astype(float)
    uq, key = np.unique(qid, return_inverse=True)
    n = len(uq)
    cnt = _seg_sum(key, n, np.ones(len(key)))
    out: dict[str, np.ndarray] = {}
    L = lengths.reindex(uq)
    for m in MODALITIES:
        for p, side in SIDES.items():
            inside = s[f"{m}{p}_in"].to_numpy()[order].astype(bool)
            pos = s[f"{m}{p}_pos"].to_numpy()[order].astype(float)
            char = pd.array(s[f"{m}{p}_char"].to_numpy()[order], dtype="Float64").to_numpy(
                dtype=float, na_value=np.nan)
            look = inside & (pos >= 0) & (pos <= 1)
            nl = _seg_sum(key, n, look)
            pre = f"response_{LETTER[p]}_{m}_"
            out[pre + "overall_attention_ratio"] = nl / cnt
            t_first, t_last = _seg_min(key, n, t, look), _seg_max(key, n, t, look)
            span = t_last - t_first
            eng = _capped_gaps(key, t, look, n)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[pre + "focused_engagement_ratio"] = np.where(span > 0, eng / span, 0.0)
                mean = np.where(nl > 0, _seg_sum(key, n, np.where(look, pos, 0)) / nl, np.nan)
                out[pre + "normalized_avg_char_position"] = mean
                out[pre + "normalized_char_position_variance"] = np.where(
                    nl > 0, np.maximum(_seg_sum(key, n, np.where(look, pos * pos, 0)) / nl - mean ** 2, 0), np.nan)
            out[pre + "reading_completion_ratio"] = np.minimum(1, _seg_max(key, n, pos, look))
            out[pre + "data_points"] = nl
            with np.errstate(invalid="ignore", divide="ignore"):
                rel = (t - t_first[key]) / np.where(span[key] > 0, span[key], 1.0)
            w = np.clip(np.nan_to_num(rel * N_WINDOWS).astype(int), 0, N_WINDOWS - 1)
            kk = key * N_WINDOWS + np.where(look, w, 0)
            wn = np.bincount(kk[look], minlength=n * N_WINDOWS).reshape(n, N_WINDOWS)
            ws = np.bincount(kk[look], weights=pos[look], minlength=n * N_WINDOWS).reshape(n, N_WINDOWS)
            wm = np.where(wn > 0, ws / np.maximum(wn, 1), 0.0)
            for j in range(N_WINDOWS):
                out[pre + f"window_{j:03d}"] = wm[:, j]
            # all_metrics
            ok_char = inside & (char >= 0)
            mx = _seg_max(key, n, np.nan_to_num(char, nan=-1.0), ok_char)
            out[f"{m}_max_idx_{side}"] = np.nan_to_num(mx)
            length = L[f"len_utf16_{p}"].to_numpy(float)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[f"{m}_max_idx_ratio_{side}"] = np.nan_to_num(mx) / length
            out[f"{m}_onscreen_points_{side}"] = _seg_sum(key, n, inside)
            prev_in = np.r_[False, inside[:-1]] & np.r_[False, key[1:] == key[:-1]]
            out[f"{m}_total_entries_{side}"] = _seg_sum(key, n, inside & ~prev_in)
    valid = pd.array(s["valid"].to_numpy()[order], dtype="Float64").to_numpy(dtype=float, na_value=0.0)
    out["camera_green"] = _seg_sum(key, n, valid == 1)
    df = pd.DataFrame(out, index=pd.Index(uq, name="query_id"))
    df["response_length_left"] = L["len_utf16_1"].to_numpy(float)
    df["response_length_right"] = L["len_utf16_2"].to_numpy(float)
    df["user_query_length"] = L["user_query"].fillna("").str.len().to_numpy(float)
    return df


def conversation_features(s: pd.DataFrame) -> pd.DataFrame:
    """Pairwise phase features of each whole conversation (index ``worker``, ``task_id``)."""
    wk = pd.Categorical(s["worker"].astype(str))
    conv = wk.codes.astype(np.int64) * 1_000_000 + s["task_id"].to_numpy(np.int64)
    order = np.lexsort((s["epoch"].to_numpy(), conv))
    conv = conv[order]
    t = s["epoch"].to_numpy()[order].astype(float)
    uc, key = np.unique(conv, return_inverse=True)
    n = len(uc)
    out: dict[str, np.ndarray] = {}
    eng = {}
    for m in MODALITIES:
        look_any = np.zeros(len(t), bool)
        inside, pos = {}, {}
        for p in (1, 2):
            inside[p] = s[f"{m}{p}_in"].to_numpy()[order].astype(bool)
            pos[p] = s[f"{m}{p}_pos"].to_numpy()[order].astype(float)
            look_any |= inside[p] & (pos[p] >= 0) & (pos[p] <= 1)
        t0 = _seg_min(key, n, t, np.ones(len(t), bool))
        boundary = _seg_max(key, n, t, look_any)
        reviewing = t <= np.nan_to_num(boundary, nan=-np.inf)[key]
        rev_n = _seg_sum(key, n, reviewing)
        rev_s = np.nan_to_num((boundary - t0) / 1000)
        mx = {}
        for p, side in SIDES.items():
            e = _capped_gaps(key, t, inside[p] & reviewing, n) / 1000
            eng[(m, p)] = e
            out[f"{m}_{side}_reviewing_engaged_time_s"] = e
            with np.errstate(invalid="ignore", divide="ignore"):
                out[f"{m}_{side}_reviewing_engaged_pct"] = np.where(rev_s > 0, 100 * e / rev_s, 0.0)
                out[f"{m}_{side}_reviewing_onscreen_ratio"] = np.where(
                    rev_n > 0, _seg_sum(key, n, inside[p] & reviewing) / np.maximum(rev_n, 1), 0.0)
            mx[p] = np.nan_to_num(_seg_max(key, n, pos[p], inside[p] & reviewing & (pos[p] >= 0) & (pos[p] <= 1)))
        out[f"{m}_comparison_reviewing_time_ratio"] = _ratio(eng[(m, 2)], eng[(m, 1)])
        out[f"{m}_comparison_reviewing_time_diff"] = eng[(m, 2)] - eng[(m, 1)]
        out[f"{m}_comparison_which_side_read_further"] = np.sign(mx[2] - mx[1])
        out[f"{m}_comparison_reviewing_activity_ratio"] = _ratio(out[f"{m}_right_reviewing_onscreen_ratio"],
                                                                 out[f"{m}_left_reviewing_onscreen_ratio"])
    for p, side in SIDES.items():
        out[f"cross_modality_{side}_reviewing_duration_ratio_gaze_mouse"] = _ratio(eng[("gaze", p)], eng[("mouse", p)])
    idx = pd.MultiIndex.from_arrays([np.asarray(wk.categories)[uc // 1_000_000], (uc % 1_000_000).astype(int)],
                                    names=["worker", "task_id"])
    return pd.DataFrame(out, index=idx)


def release_features(samples: pd.DataFrame, queries: pd.DataFrame) -> pd.DataFrame:
    """Every rebuilt release feature per pairwise turn with samples (index ``query_id``).

    ``samples`` needs :data:`SAMPLE_COLUMNS`; the conversation-level phase features are broadcast
    to every turn of their conversation.
    """
    q = queries.set_index("query_id")
    pw = q.index[q["mode"].to_numpy() == "pairwise"]
    s = samples[samples["query_id"].isin(pw) | (samples["query_id"] < 0)]
    turn = turn_features(s[s["query_id"].isin(pw)], q[["len_utf16_1", "len_utf16_2", "user_query"]])
    pw_tasks = q.loc[pw, ["worker", "task_id"]].astype({"worker": str, "task_id": np.int64}).drop_duplicates()
    keep = pd.MultiIndex.from_arrays([s["worker"].astype(str), s["task_id"].astype(np.int64)]).isin(
        pd.MultiIndex.from_frame(pw_tasks))
    conv = conversation_features(s[keep])
    wk = q.loc[turn.index, ["worker", "task_id"]].astype({"worker": str, "task_id": int})
    phase = conv.reindex(pd.MultiIndex.from_frame(wk)).set_axis(turn.index)
    return turn.join(phase)


def conversation_constant(features: pd.DataFrame) -> list[str]:
    """The phase-feature columns (identical for every turn of a conversation by construction)."""
    return [c for c in features.columns if "reviewing" in c or c.endswith("which_side_read_further")]


# -- the one-change-at-a-time path from the release's protocol to ours -------------------------------

def path_steps(n_seeds: int = 5, k_release: int = len(LISTED), k_ours: int = 50) -> list[dict]:
    """The steps from the release's protocol to the book's ``if_rf`` (grouped, quality rule).

    Each step changes exactly one thing of the previous one (``change``; ``weak_point`` numbers the
    paper notes §5; the fold scheme carries its own seed: the release's 49, ours 0). Keys: ``pool``
    (``release`` | ``release_no_phase`` | ``release_if`` | ``ours``), ``selection`` (``listed``: the
    release's hand list | ``all_rows`` | ``in_fold``), ``k``, ``folds`` (``kfold`` | ``grouped``),
    ``exclusion``, ``seeds``.
    """
    s = dict(pool="release", selection="listed", k=k_release, folds="kfold", exclusion="paper", seeds=(49,))
    steps = [dict(s, change="release-faithful: the 47 listed features (rebuilt), release KFold (seed 49), "
                            "24-worker list, release forest", weak_point="")]

    def step(change, weak_point="", **kw):
        steps.append(dict(steps[-1], change=change, weak_point=weak_point, **kw))

    step(f"top {k_release} of the rebuilt candidate pool by importance on all rows, instead of the hand list",
         "2", selection="all_rows")
    step("selection inside each training fold", "2", selection="in_fold")
    step("pool without the conversation-constant phase features", "3", pool="release_no_phase")
    step("pool without the three text lengths counted as IF", "4", pool="release_if")
    step("worker-grouped folds (seed 0)", "1", folds="grouped", seeds=(0,))
    step("our per-query IF features as the pool", "10, 14", pool="ours")
    if k_ours != k_release:
        step(f"top {k_ours} instead of {k_release}", "", k=k_ours)
    step("our quality rule instead of the 24-worker list", "9", exclusion="quality")
    if n_seeds > 1:
        step(f"{n_seeds} seeds instead of 1 (= the book's if_rf, grouped, quality rule)", "12",
             seeds=tuple(range(n_seeds)))
    return steps


def step_columns(step: dict, release_cols, our_if_cols) -> list[str]:
    """Candidate columns of a step: the hand list, or its ``pool``."""
    return list(LISTED) if step["selection"] == "listed" else pool_columns(step["pool"], release_cols, our_if_cols)


def pool_columns(pool: str, release_cols, our_if_cols) -> list[str]:
    """Candidate columns of a ``pool``."""
    rel = list(release_cols)
    if pool == "release":
        return rel
    phase = set(conversation_constant(pd.DataFrame(columns=rel)))
    if pool == "release_no_phase":
        return [c for c in rel if c not in phase]
    if pool == "release_if":
        return [c for c in rel if c not in phase and c not in LENGTHS]
    if pool == "ours":
        return list(our_if_cols)
    raise ValueError(f"unknown pool {pool!r}")


def run_step(step: dict, rows: pd.DataFrame, X: pd.DataFrame, candidates: list[str]) -> pd.DataFrame:
    """Out-of-fold correctness per row of one step (seed-averaged): query_id, worker, y, correct."""
    from sklearn.base import clone

    from . import protocols
    from .models import FeatureClassifier, with_columns

    y = rows["y"].to_numpy(float)
    correct = np.zeros(len(y))
    for s in step["seeds"]:
        folds = (protocols.paper_folds(len(y), seed=s) if step["folds"] == "kfold"
                 else protocols.grouped_folds(y, rows["worker"], seed=s))
        m = FeatureClassifier(columns=list(candidates), learner="rf",
                              select_k=None if step["selection"] == "listed" else step["k"], random_state=s)
        if step["selection"] == "all_rows":
            m = with_columns(m, protocols.paper_selection(m, X, y, k=step["k"], seed=s))
        score = protocols.oof_scores(clone(m), X, y, folds)
        correct += ((score > 0.5).astype(float) == y)
    return pd.DataFrame({"query_id": rows["query_id"].to_numpy(), "worker": rows["worker"].to_numpy(),
                         "y": y, "correct": correct / len(step["seeds"])})


def change_ci(before: pd.DataFrame, after: pd.DataFrame, n_resamples: int = 1000, seed: int = 0
              ) -> tuple[float, tuple[float, float]]:
    """Accuracy of ``after`` minus ``before`` with a worker-bootstrap CI over the union of their
    workers (paired: one resample of workers serves both; identical to the paired difference when
    both hold the same pairs)."""
    from ..stats import worker_resamples
    from .metrics import _ci

    workers = np.union1d(before["worker"].astype(str), after["worker"].astype(str))
    inv, counts = worker_resamples(workers, n_resamples, seed)
    pos = {w: i for i, w in enumerate(np.unique(workers))}
    sums = []
    for d in (before, after):
        k = np.array([pos[w] for w in d["worker"].astype(str)])
        sums.append((np.bincount(k, weights=d["correct"].to_numpy(float), minlength=len(pos)),
                     np.bincount(k, minlength=len(pos)).astype(float)))
    with np.errstate(invalid="ignore", divide="ignore"):
        b = [(counts @ s) / (counts @ n) for s, n in sums]
    est = float(after["correct"].mean() - before["correct"].mean())
    return est, _ci(b[1] - b[0])


def one_change_table(steps: list[dict], results: list[pd.DataFrame], n_resamples: int = 1000,
                     seed: int = 0) -> pd.DataFrame:
    """The path as a table: each step's accuracy (worker-bootstrap CI) and its change from the
    previous step (paired worker-bootstrap CI), pairs, workers and what it changed."""
    from .metrics import mean_ci

    out = []
    for i, (st, r) in enumerate(zip(steps, results)):
        acc, ci = mean_ci(r["correct"].to_numpy(), r["worker"].to_numpy(), n_resamples, seed)
        row = {"step": i, "change": st["change"], "weak point": st["weak_point"], "accuracy": acc,
               "acc_lo": ci[0], "acc_hi": ci[1], "delta": np.nan, "delta_lo": np.nan, "delta_hi": np.nan,
               "pairs": len(r), "workers": int(r["worker"].nunique())}
        if i:
            d, dci = change_ci(results[i - 1], r, n_resamples, seed)
            row.update(delta=d, delta_lo=dci[0], delta_hi=dci[1])
        out.append(row)
    return pd.DataFrame(out)
