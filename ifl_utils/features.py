"""Per-query features of gaze, mouse and text: one row per query, each built from that query's own
samples only (no whole-conversation features, §5 item 3 of the paper notes).

A sample belongs to the query on screen by the time rule of the data layer (``query_id``); samples
with ``query_id == -1`` (placeholder on screen) are never used. Time is the callback ``epoch`` (ms).

Groups
------
``gaze`` / ``mouse``
    per pane (``left`` = pane 1 = ``llm_response_1`` / the only pane, ``right`` = pane 2): engaged
    time with capped gaps, in-pane and on-text shares, mean/variance/max normalised position,
    position in time windows, sample counts, time to first look; reviewing/composing phases of the
    query; pairwise comparisons (right minus left, log ratios; positive = more on the right pane,
    the direction of the label ``right_preferred``).
``cross``
    gaze-to-mouse ratios and agreement, face-valid share, query duration and callbacks.
``text``
    answer and question lengths, bullet-point instruction, answer structure, LLM identity
    (optional). Never counted as implicit feedback.

The full list with units and definitions is :func:`feature_dictionary`.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

#: Gap cap for engaged time (ms): a pause longer than this counts as this long (release: 1 s).
GAP_CAP_MS = 1000.0
#: Equal time slices of a query's span for the position-in-time features.
N_WINDOWS = 5
SIDES = {1: "left", 2: "right"}
MODALITIES = ("gaze", "mouse")
IF_GROUPS = ("gaze", "mouse", "cross")

#: Sample columns the extractor reads.
SAMPLE_INPUT = ["query_id", "epoch", "valid"] + [f"{m}{p}_{k}" for m in MODALITIES for p in (1, 2)
                                                   for k in ("in", "pos")]

_PER_PANE = [
    ("n", "count", "samples inside the pane"),
    ("in_share", "0-1", "share of the query's samples inside the pane"),
    ("text_share", "0-1", "share of the query's samples on the answer's text (0 <= position <= 1)"),
    ("engaged_s", "s", "sum over samples inside the pane of the gap to the next sample, each gap capped at 1 s"),
    ("pos_mean", "0-1", "mean normalised position (char offset / answer length) over on-text samples"),
    ("pos_var", "0-1", "variance of the normalised position over on-text samples"),
    ("pos_max", "0-1", "furthest normalised position reached (how far into the answer)"),
    ("first_look_s", "s", "time from the query's first sample to the first sample inside the pane"),
] + [(f"win{k}", "0-1", f"mean normalised position in time slice {k + 1} of {N_WINDOWS} of the query's span")
     for k in range(N_WINDOWS)]

_PER_MODALITY = [
    ("review_s", "s", "reviewing phase: first sample of the query to its last on-text sample (either pane)"),
    ("compose_s", "s", "composing phase: last on-text sample to the query's last sample (rating, next question)"),
    ("review_share", "0-1", "reviewing time / query span"),
]

_PAIR = [
    ("lr_engaged_diff", "s", "engaged time right minus left"),
    ("lr_engaged_logratio", "log", "log((engaged right + 1 s) / (engaged left + 1 s))"),
    ("lr_text_diff", "0-1", "on-text share right minus left"),
    ("lr_posmax_diff", "0-1", "furthest position right minus left"),
    ("lr_posmean_diff", "0-1", "mean position right minus left"),
    ("lr_first_look_diff", "s", "time to first look right minus left"),
    ("lr_last_pane", "-1/0/1", "pane of the last in-pane sample: +1 right, -1 left, 0 none"),
]

_CROSS = [
    ("duration_s", "s", "span of the query's samples (first to last callback)"),
    ("callbacks", "count", "callbacks assigned to the query"),
    ("valid_share", "0-1", "share of callbacks with the camera face box green (NaN in 6-column files)"),
    ("gm_pane_agree", "0-1", "share of callbacks where gaze and mouse are in the same pane (or both outside)"),
    ("gm_engaged_ratio_left", "ratio", "gaze engaged time / (mouse engaged time + 1 s), left pane"),
    ("gm_engaged_ratio_right", "ratio", "gaze engaged time / (mouse engaged time + 1 s), right pane"),
    ("gm_pos_corr", "-1-1", "correlation of gaze and mouse positions over callbacks where both are on text (same pane)"),
]

_TEXT = [
    ("len_left", "UTF-16 units", "length of the left/only answer"),
    ("len_right", "UTF-16 units", "length of the right answer"),
    ("len_diff", "UTF-16 units", "right minus left answer length"),
    ("len_logratio", "log", "log(len right / len left)"),
    ("query_len", "characters", "length of the question as typed (stripped)"),
    ("bullet", "0/1", "the hidden 'respond using bullet points' instruction was sent"),
    ("bullets_left", "count", "bullet or numbered lines in the left answer"),
    ("bullets_right", "count", "bullet or numbered lines in the right answer"),
    ("lines_left", "count", "lines in the left answer"),
    ("lines_right", "count", "lines in the right answer"),
    ("bold_left", "count", "markdown bold spans (**) in the left answer"),
    ("bold_right", "count", "markdown bold spans (**) in the right answer"),
]


def feature_dictionary(models: list[str] | None = None) -> pd.DataFrame:
    """The feature dictionary: ``name``, ``group`` (gaze/mouse/cross/text), ``unit``, ``definition``."""
    rows = []
    for m in MODALITIES:
        for side in SIDES.values():
            rows += [(f"{m}_{side}_{k}", m, u, d + f" ({side} pane)") for k, u, d in _PER_PANE]
        rows += [(f"{m}_{k}", m, u, d) for k, u, d in _PER_MODALITY]
        rows += [(f"{m}_{k}", m, u, d + " (pairwise only)") for k, u, d in _PAIR]
    rows += [(k, "cross", u, d) for k, u, d in _CROSS]
    rows += [(k, "text", u, d) for k, u, d in _TEXT]
    for name in models or []:
        rows.append((f"llm_{slug(name)}", "text", "0/1/2", f"{name} answered: 1 left/only pane, 2 right pane"))
    return pd.DataFrame(rows, columns=["name", "group", "unit", "definition"])


def slug(model: str) -> str:
    """Short column-safe name of an LLM id (``deepseek-ai/DeepSeek-V3`` -> ``deepseek_v3``)."""
    return re.sub(r"[^a-z0-9]+", "_", str(model).split("/")[-1].lower()).strip("_")


def feature_groups(columns) -> dict[str, str]:
    """Map each feature column to its group by its prefix (``gaze_``, ``mouse_``, text, else cross)."""
    text = {k for k, _, _ in _TEXT}
    out = {}
    for c in columns:
        if c.startswith("gaze_"):
            out[c] = "gaze"
        elif c.startswith("mouse_"):
            out[c] = "mouse"
        elif c in text or c.startswith("llm_"):
            out[c] = "text"
        elif c.startswith("emb_"):
            out[c] = "embedding"
        else:
            out[c] = "cross"
    return out


def _per_query_sum(idx: np.ndarray, n: int, w: np.ndarray) -> np.ndarray:
    return np.bincount(idx, weights=w, minlength=n)


def behaviour_features(samples: pd.DataFrame, gap_cap_ms: float = GAP_CAP_MS,
                       n_windows: int = N_WINDOWS) -> pd.DataFrame:
    """Gaze, mouse and cross features per query (index ``query_id``) from that query's samples.

    ``samples`` needs :data:`SAMPLE_INPUT`; rows with ``query_id < 0`` are ignored. Pane-2 features
    of pointwise queries are NaN (no right pane); so are statistics over no samples.
    """
    s = samples[samples["query_id"].to_numpy() >= 0]
    order = np.lexsort((s["epoch"].to_numpy(), s["query_id"].to_numpy()))
    qid = s["query_id"].to_numpy()[order]
    t = s["epoch"].to_numpy()[order].astype("float64")
    uq, idx, counts = np.unique(qid, return_inverse=True, return_counts=True)
    n = len(uq)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    t0 = t[starts]
    t1 = t[starts + counts - 1]
    span = t1 - t0
    # gap to the next sample of the same query (0 for the last), capped
    gap = np.r_[np.diff(t), 0.0]
    gap[np.r_[starts[1:] - 1, len(t) - 1]] = 0.0
    gap = np.minimum(gap, gap_cap_ms)
    rel_t = np.where(span[idx] > 0, (t - t0[idx]) / np.where(span[idx] > 0, span[idx], 1), 0.0)
    win = np.minimum((rel_t * n_windows).astype(int), n_windows - 1)
    out: dict[str, np.ndarray] = {}
    cnt = counts.astype(float)
    out["duration_s"] = span / 1000
    out["callbacks"] = cnt
    valid = pd.array(s["valid"].to_numpy()[order], dtype="Float64")
    vnum = valid.to_numpy(dtype=float, na_value=np.nan)
    vok = ~np.isnan(vnum)
    vn = _per_query_sum(idx, n, vok.astype(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        out["valid_share"] = np.where(vn > 0, _per_query_sum(idx, n, np.nan_to_num(vnum)) / np.where(vn > 0, vn, 1), np.nan)
    pane_of = {}
    pos_on = {}
    for m in MODALITIES:
        on_any = np.zeros(len(t), bool)
        pane = np.zeros(len(t), np.int8)
        last_in_t = np.full(n, np.nan)
        last_in_pane = np.zeros(n)
        for p, side in SIDES.items():
            inside = s[f"{m}{p}_in"].to_numpy()[order].astype(bool)
            pos = s[f"{m}{p}_pos"].to_numpy()[order].astype(float)
            on = (pos >= 0) & (pos <= 1)
            on_any |= on
            pane[inside] = p
            pos_on[(m, p)] = np.where(on, pos, np.nan)
            nin = _per_query_sum(idx, n, inside.astype(float))
            non = _per_query_sum(idx, n, on.astype(float))
            sp = _per_query_sum(idx, n, np.where(on, pos, 0.0))
            sp2 = _per_query_sum(idx, n, np.where(on, pos * pos, 0.0))
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = np.where(non > 0, sp / non, np.nan)
                var = np.where(non > 0, np.maximum(sp2 / non - mean * mean, 0.0), np.nan)
            pmax = np.full(n, -np.inf)
            np.maximum.at(pmax, idx[on], pos[on])
            pmax[~np.isfinite(pmax)] = np.nan
            first = np.full(n, np.inf)
            np.minimum.at(first, idx[inside], t[inside])
            first = np.where(np.isfinite(first), (first - t0) / 1000, np.nan)
            lastt = np.full(n, -np.inf)
            np.maximum.at(lastt, idx[inside], t[inside])
            newer = np.isfinite(lastt) & ~(lastt <= last_in_t)
            last_in_pane = np.where(newer, p, last_in_pane)
            last_in_t = np.where(newer, lastt, last_in_t)
            pre = f"{m}_{side}_"
            out[pre + "n"] = nin
            out[pre + "in_share"] = nin / cnt
            out[pre + "text_share"] = non / cnt
            out[pre + "engaged_s"] = _per_query_sum(idx, n, np.where(inside, gap, 0.0)) / 1000
            out[pre + "pos_mean"] = mean
            out[pre + "pos_var"] = var
            out[pre + "pos_max"] = pmax
            out[pre + "first_look_s"] = first
            key = idx * n_windows + win
            wn = np.bincount(key[on], minlength=n * n_windows).reshape(n, n_windows)
            ws = np.bincount(key[on], weights=pos[on], minlength=n * n_windows).reshape(n, n_windows)
            with np.errstate(invalid="ignore", divide="ignore"):
                wm = np.where(wn > 0, ws / np.where(wn > 0, wn, 1), np.nan)
            for k in range(n_windows):
                out[pre + f"win{k}"] = wm[:, k]
        last_on = np.full(n, -np.inf)
        np.maximum.at(last_on, idx[on_any], t[on_any])
        review = np.where(np.isfinite(last_on), (last_on - t0) / 1000, 0.0)
        out[f"{m}_review_s"] = review
        out[f"{m}_compose_s"] = span / 1000 - review
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"{m}_review_share"] = np.where(span > 0, review * 1000 / np.where(span > 0, span, 1), np.nan)
        L, R = f"{m}_left_", f"{m}_right_"
        out[f"{m}_lr_engaged_diff"] = out[R + "engaged_s"] - out[L + "engaged_s"]
        out[f"{m}_lr_engaged_logratio"] = np.log((out[R + "engaged_s"] + 1) / (out[L + "engaged_s"] + 1))
        out[f"{m}_lr_text_diff"] = out[R + "text_share"] - out[L + "text_share"]
        out[f"{m}_lr_posmax_diff"] = np.nan_to_num(out[R + "pos_max"]) - np.nan_to_num(out[L + "pos_max"])
        out[f"{m}_lr_posmean_diff"] = out[R + "pos_mean"] - out[L + "pos_mean"]
        out[f"{m}_lr_first_look_diff"] = out[R + "first_look_s"] - out[L + "first_look_s"]
        out[f"{m}_lr_last_pane"] = np.select([last_in_pane == 2, last_in_pane == 1], [1.0, -1.0], 0.0)
        pane_of[m] = pane
    out["gm_pane_agree"] = _per_query_sum(idx, n, (pane_of["gaze"] == pane_of["mouse"]).astype(float)) / cnt
    for p, side in SIDES.items():
        out[f"gm_engaged_ratio_{side}"] = out[f"gaze_{side}_engaged_s"] / (out[f"mouse_{side}_engaged_s"] + 1)
    # gaze-mouse position correlation per query (same pane, both on text)
    a = np.where(np.isnan(pos_on[("gaze", 1)]), pos_on[("gaze", 2)], pos_on[("gaze", 1)])
    b = np.where(np.isnan(pos_on[("mouse", 1)]), pos_on[("mouse", 2)], pos_on[("mouse", 1)])
    same = (pane_of["gaze"] == pane_of["mouse"]) & ~np.isnan(a) & ~np.isnan(b)
    k = _per_query_sum(idx, n, same.astype(float))
    a0, b0 = np.where(same, a, 0.0), np.where(same, b, 0.0)
    sa, sb = _per_query_sum(idx, n, a0), _per_query_sum(idx, n, b0)
    saa, sbb, sab = (_per_query_sum(idx, n, a0 * a0), _per_query_sum(idx, n, b0 * b0),
                     _per_query_sum(idx, n, a0 * b0))
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = sab - sa * sb / k
        den = np.sqrt((saa - sa * sa / k) * (sbb - sb * sb / k))
        out["gm_pos_corr"] = np.where((k >= 3) & (den > 1e-12), cov / den, np.nan)
    df = pd.DataFrame(out, index=pd.Index(uq, name="query_id"))
    return df


def text_features(queries: pd.DataFrame, llm_identity: bool = False) -> pd.DataFrame:
    """Text features per query (index ``query_id``): lengths, bullet instruction, structure, LLMs."""
    q = queries.set_index("query_id")
    out = pd.DataFrame(index=q.index)
    l1 = q["len_utf16_1"].astype("float64")
    l2 = q["len_utf16_2"].astype("float64")
    out["len_left"], out["len_right"] = l1, l2
    out["len_diff"] = l2 - l1
    out["len_logratio"] = np.log(l2 / l1)
    out["query_len"] = q["user_query"].fillna("").str.strip().str.len().astype("float64")
    out["bullet"] = q["adjustment"].astype("float64")
    for p, side in SIDES.items():
        r = q[f"llm_response_{p}"]
        out[f"bullets_{side}"] = r.str.count(r"(?m)^\s*(?:[-*\u2022]|\d+[.)])\s").astype("float64")
        out[f"lines_{side}"] = (r.str.count("\n") + 1).astype("float64")
        out[f"bold_{side}"] = (r.str.count(r"\*\*") // 2).astype("float64")
    if llm_identity:
        for name in sorted(set(q["model_1"].dropna()) | set(q["model_2"].dropna())):
            out[f"llm_{slug(name)}"] = ((q["model_1"] == name).astype(float)
                                        + 2 * (q["model_2"] == name).astype(float))
    return out


def query_features(samples: pd.DataFrame, queries: pd.DataFrame, llm_identity: bool = False) -> pd.DataFrame:
    """All features per query: behaviour (queries with samples; NaN otherwise) joined to text.

    Returns one row per query of ``queries`` with ``query_id`` as a column first; pane-2 (right) and
    pairwise-comparison features are set to NaN for pointwise queries.
    """
    beh = behaviour_features(samples)
    txt = text_features(queries, llm_identity=llm_identity)
    df = txt.join(beh, how="left")
    pointwise = queries.set_index("query_id")["mode"].reindex(df.index).to_numpy() == "pointwise"
    right_cols = [c for c in df.columns if "_right" in c or "_lr_" in c]
    df.loc[pointwise, right_cols] = np.nan
    order = feature_dictionary().query("group != 'text'")["name"].tolist()
    cols = [c for c in df.columns if c not in order] + [c for c in order if c in df.columns]
    return df[cols].reset_index()


def load_query_features(ds, llm_identity: bool = False) -> pd.DataFrame:
    """:func:`query_features` for every query of a :class:`~ifl_utils.data.api.Dataset`."""
    samples = ds.samples(columns=SAMPLE_INPUT)
    return query_features(samples, ds.queries(), llm_identity=llm_identity)


#: Pairwise columns that change sign when the two panes are swapped.
_ANTISYMMETRIC = ("len_diff", "len_logratio")


def swap_panes(X: pd.DataFrame) -> pd.DataFrame:
    """The same pairs with left and right panes exchanged: ``*left*`` <-> ``*right*`` columns,
    right-minus-left comparisons negated (``*_lr_*``, ``len_diff``, ``len_logratio``).

    A pairwise model should give P(right preferred | swapped) = 1 - P(right preferred | original).
    """
    ren = {}
    for c in X.columns:
        if "left" in c:
            ren[c] = c.replace("left", "right")
        elif "right" in c:
            ren[c] = c.replace("right", "left")
    out = X.rename(columns=ren)[list(X.columns)].copy()
    neg = [c for c in X.columns if "_lr_" in c or c in _ANTISYMMETRIC]
    out[neg] = -out[neg]
    return out
