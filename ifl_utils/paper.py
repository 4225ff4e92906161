"""The paper's reference numbers, each with its source — the only place they are written down.

Only the paper's front matter (abstract) was retrievable; numbers marked ``release`` come from the
released repository at commit 923bac0 and ``re-run`` from running the released scripts unchanged on
the released data (see the project's docs on the paper). The book quotes these through
:func:`ifl_utils.results.record` (``paper`` / ``paper_source`` fields), never by typing them.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PaperValue:
    """One number the paper (or its release) states."""

    value: float
    source: str
    note: str = ""


#: Result name (as used in ``results/<notebook>.json``) -> the paper's value.
PAPER: dict[str, PaperValue] = {
    "dataset/questions": PaperValue(1336, "abstract (paper): '1336 multi-turn questions'"),
    "dataset/workers": PaperValue(59, "abstract (paper): 'from the 59 Mechanical Turk workers'"),
    "pairwise/text/accuracy": PaperValue(
        0.55, "abstract (paper): text-based reward model 55% pairwise accuracy",
        "protocol not pinned by the release (ModernBERT, StratifiedKFold(5))"),
    "pairwise/if/accuracy": PaperValue(
        0.64, "abstract (paper): implicit-feedback reward model 64% pairwise accuracy",
        "RF on 50 hard-coded features, KFold(5, shuffle, seed 49)"),
    "pairwise/if_rf/paper/rerun_accuracy": PaperValue(
        0.625, "re-run of the released RF script on the released data (675 pairs)",
        "62.5 +/- 1.1 % with the released KFold; 57.9 % grouped by worker"),
    "pairwise/release/candidate_features": PaperValue(
        232, "the release's feature table: candidate columns the top-50 selection chose from",
        "notes §5 item 2 (re-run of the release's selection on its 232 candidates)"),
    "pairwise/if_rf/grouped/rerun_accuracy": PaperValue(
        0.579, "re-run of the released RF script with GroupKFold by worker"),
    "dpo/if_vs_text/gain_ratio": PaperValue(
        3.0, "abstract (paper): IF-based RM 'nearly triples the relative response quality "
        "improvements' after DPO on eight LLMs", "'nearly triples' read as a ratio of about 3"),
    "pairwise/if_rf/paper/accuracy": PaperValue(
        0.64, "abstract (paper): implicit-feedback reward model 64% pairwise accuracy",
        "our RF on per-query IF features under the release's protocol (KFold(5, shuffle, 49), "
        "top-50 selected on all rows, 24-worker exclusion)"),
    "pairwise/text_finetuned/paper/accuracy": PaperValue(
        0.55, "abstract (paper): text-based reward model 55% pairwise accuracy",
        "paper: fine-tuned ModernBERT on query + answers; ours: the offline MiniLM (all-MiniLM-L6-v2) fine-tuned as a pairwise cross-encoder, ModernBERT not being available offline"),
    "pairwise/text_embed/paper/accuracy": PaperValue(
        0.55, "abstract (paper): text-based reward model 55% pairwise accuracy",
        "paper: fine-tuned ModernBERT; ours: frozen MiniLM embeddings + logistic regression"),
    "pointwise/likert/if_rf/paper/mse": PaperValue(
        0.595, "release: feature_creator/models/pointwise_model/pointwise_results_summary.csv "
        "(important features, 5-fold CV MSE)"),
    "behaviour/f5/k": PaperValue(
        10, "release: NLP-Gazing/src/vis/gaze_mouse_kmeans.py, BisectingKMeans(n_clusters=10); "
        "the paper's ten trajectory clusters"),
    "pointwise/likert/rf_mse": PaperValue(
        0.595, "release: feature_creator/models/pointwise_model/pointwise_results_summary.csv "
        "(important features, 5-fold CV MSE)"),
}


def paper_value(name: str) -> PaperValue | None:
    """Return the paper's value for result ``name``, or ``None`` when the paper states none."""
    return PAPER.get(name)
