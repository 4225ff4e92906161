"""The reproduction summary: every claim of the paper, its value, ours (from the results files), and
a verdict computed by a stated rule — nothing typed.

Verdict rules
-------------
``count``
    reproduced when our count equals the paper's; otherwise not reproduced.
``interval``
    reproduced when the paper's value lies inside our 95 % CI; partly when it lies outside but
    within 0.03 (3 points) of our estimate; otherwise not reproduced.
``ratio``
    the paper's ratio against ours with its CI, as ``interval``.
``validity`` (row V: the title's "eyes")
    the gaze stream is *pulled by the cursor* when the gaze-cursor distance grows once the cursor
    rests (CI of idle - moving above 0) **and** the gaze follows the cursor (CI of the lead-lag peak
    lag above 0). Not pulled: reproduced. Pulled: partly when gaze from the cursor's rests or the
    part of gaze the mouse does not predict adds to a mouse-only reward model with a CI above 0,
    otherwise not reproduced.
``dpo_control``
    (C4) first the positive control: the held-out accuracy difference explicit − reversed labels
    must have a CI above 0, else the verdict is **inconclusive** (the design cannot compare label
    sources). If it separates: the paired difference if_rm − text_rm with a CI above 0 is
    **partly** (the direction holds; the paper's "nearly triples" concerns judged quality gains, not
    measured here), below 0 **not reproduced**, covering 0 **inconclusive**.
``diversity``
    reproduced when the between-worker share of variance exceeds 0.1 **and** cluster membership
    carries worker identity beyond a permutation baseline **and** the data support the paper's
    number of clusters; partly when the first two hold but the data prefer fewer clusters.
``space_interval`` (C3a, C3b)
    the ``interval`` rule on the release's cell of the reward chapter's analysis space (row-wise
    KFold, the paper's 24-worker list); the row also says in how many of the m cells (fold scheme x
    exclusion list) the paper's value lies inside our 95 % CI ("k of m") and the widest interval.
``space_difference`` (C3c)
    over every cell of the analysis space and both paired differences ``text_if - length`` and
    ``text_if - text_rf``: reproduced when the CI lies above 0 in every cell of both; partly when it
    does in at least one cell of either; otherwise not reproduced. The row quotes, per difference,
    the range of estimates, in how many of the m cells the CI includes 0, the widest upper bound
    ("a gain above +x points is ruled out in m of m") and in how many cells the paper's gap is ruled out.
``mse`` (C5)
    reproduced when our out-of-fold MSE under the release's protocol is within 0.05 of the
    release's; the row also gives MSE and R² under the worker-grouped protocol, each labelled.
A row whose result is missing (a chapter not run) or is a "not run: ..." string says so.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .markdown import cell
from .paper import PAPER


@dataclass(frozen=True)
class Claim:
    """One claim of the paper and where our evidence for it is recorded."""

    key: str
    text: str
    paper: str
    chapter: str
    rule: str
    refs: dict[str, tuple[str, str]] = field(default_factory=dict)  # role -> (notebook, name)
    protocol: str = ""
    section: str = ""  # MyST label of the section holding the evidence (default: the chapter's)

    @property
    def label(self) -> str:
        """The section label to link to: :attr:`section`, else the chapter's ``ch-<name>``."""
        return self.section or "ch-" + self.chapter.split("_", 1)[1]


CLAIMS: tuple[Claim, ...] = (
    Claim("C1", "Dataset size: multi-turn questions from Mechanical Turk workers",
          f"{PAPER['dataset/questions'].value:,} questions / {PAPER['dataset/workers'].value} workers",
          "01_dataset", "count",
          {"questions": ("01_dataset", "dataset/questions"), "workers": ("01_dataset", "dataset/workers")},
          "queries with behaviour data, minus the paper's 24 excluded workers (closest selection)",
          section="sec-paper-counts"),
    Claim("C2", "Users have very diverse gazing behaviour and mouse trajectories",
          f"{PAPER['behaviour/f5/k'].value:g} trajectory clusters (bisecting k-means)", "02_behaviour", "diversity",
          {"icc": ("02_behaviour", "behaviour/diversity/speed_cps/icc_all"),
           "ami": ("02_behaviour", "behaviour/f5/ami_worker"),
           "ami_perm": ("02_behaviour", "behaviour/f5/ami_worker_perm_p95"),
           "k_data": ("02_behaviour", "behaviour/f5/k_data")},
          "share of variance between workers (reading speed); AMI of clusters with workers; data-driven k; "
          "'gazing' is webcam gaze, partly the cursor (row V)",
          section="sec-diversity"),
    Claim("C3a", "Text-only reward model, pairwise accuracy",
          f"{100 * PAPER['pairwise/text/accuracy'].value:.0f} %", "04_reward", "space_interval",
          {"ours": ("04_reward", "pairwise/text_finetuned/paper/accuracy")},
          "release KFold (selection on all rows), paper's 24-worker list; k of m over fold scheme x "
          "exclusion list. Ours: MiniLM fine-tuned as a cross-encoder on CPU (short inputs), not the "
          "paper's ModernBERT (not available offline)",
          section="sec-finetuned"),
    Claim("C3b", "Implicit-feedback reward model, pairwise accuracy",
          f"{100 * PAPER['pairwise/if/accuracy'].value:.0f} %", "04_reward", "space_interval",
          {"ours": ("04_reward", "pairwise/if_rf/paper/accuracy")},
          "release KFold (top-50 selected on all rows), paper's 24-worker list; k of m over fold scheme x "
          "exclusion list; its gaze features are partly the cursor (row V)",
          section="sec-pairwise"),
    Claim("C3c", "Implicit feedback adds to text",
          f"{100 * (PAPER['pairwise/if/accuracy'].value - PAPER['pairwise/text/accuracy'].value):+.0f} points "
          f"({100 * PAPER['pairwise/if/accuracy'].value:.0f} % vs {100 * PAPER['pairwise/text/accuracy'].value:.0f} %)",
          "04_reward", "space_difference",
          {"cells": ("04_reward", "pairwise/robustness/text_if_minus_length/cells")},
          "paired differences text_if − length and text_if − text_rf (same forest, text features only) in "
          "every cell: fold scheme (release KFold | worker-grouped) x exclusion (none | quality rule | "
          "paper's 24) x seeds",
          section="sec-space"),
    Claim("C4", "DPO with IF-predicted labels nearly triples the quality gain of text-only labels",
          f"ratio about {PAPER['dpo/if_vs_text/gain_ratio'].value:g}", "05_dpo", "dpo_control",
          {"control": ("05_dpo", "dpo/control/explicit_minus_reversed/heldout_accuracy"),
           "diff": ("05_dpo", "dpo/if_minus_text/heldout_accuracy")},
          "SmolLM2-135M, LoRA on the last block; held-out implicit-reward accuracy over worker-grouped "
          "folds, paired if_rm − text_rm; positive control (explicit − reversed labels) first",
          section="sec-nearly-triples"),
    Claim("C5", "Pointwise Likert prediction from implicit feedback (release only)",
          f"CV MSE {PAPER['pointwise/likert/if_rf/paper/mse'].value:.3f}", "04_reward", "mse",
          {"ours": ("04_reward", "pointwise/likert/if_rf/paper/mse"),
           "r2": ("04_reward", "pointwise/likert/if_rf/paper/r2"),
           "mse_grouped": ("04_reward", "pointwise/likert/if_rf/grouped/mse"),
           "r2_grouped": ("04_reward", "pointwise/likert/if_rf/grouped/r2")},
          "release protocol (row-wise KFold, 24-worker list) and worker-grouped (quality rule), each "
          "labelled; an R² at or below 0 means no better than predicting the mean",
          section="sec-pointwise"),
    Claim("V", "Measurement validity: the gaze stream measures the eyes, not the cursor (the title's "
          "\"mouse and eyes\")",
          "assumed (WebGazer keeps training on the mouse, notes §5 item 23)", "03_validity", "validity",
          {"diff": ("03_validity", "validity/distance/idle_vs_moving"),
           "lag": ("03_validity", "validity/leadlag/peak_lag_s"),
           "r2_moving": ("03_validity", "validity/r2_gaze_on_cursor/moving_median"),
           "r2_idle": ("03_validity", "validity/r2_gaze_on_cursor/idle_median"),
           "idle_add": ("03_validity", "pairwise/paired/grouped/if_idle_gaze_vs_mouse_only"),
           "resid_add": ("03_validity", "pairwise/paired/grouped/gaze_residual_vs_mouse_only")},
          "gaze-cursor distance by time since the last move, lead-lag, per-worker R²; reward models "
          "in the worker-grouped protocol (same pairs and folds)",
          section="sec-validity-verdict"),
)


def load_results(results_dir: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """Read every ``<results_dir>/*.json`` into ``notebook -> numbers``."""
    out = {}
    for p in sorted(Path(results_dir).glob("*.json")):
        data = json.loads(p.read_text(encoding="utf-8"))
        out[data.get("notebook", p.stem)] = data.get("numbers", {})
    return out


def _get(results: dict, ref: tuple[str, str]) -> dict[str, Any] | None:
    nb, name = ref
    return results.get(nb, {}).get(name)


def _fmt(v: Any, pct: bool = False) -> str:
    if isinstance(v, str):
        return v
    if v is None:
        return "—"
    if pct:
        return f"{100 * v:.1f} %"
    return f"{v:,}" if isinstance(v, int) else f"{v:.3g}"


def _interval_verdict(paper: float, est: float, ci: list | None) -> str:
    if ci is not None and ci[0] <= paper <= ci[1]:
        return "reproduced"
    if abs(paper - est) <= 0.03:
        return "partly"
    return "not reproduced"


#: Cells of the reward chapter's analysis space, in the order they are quoted.
SPACE_PROTOCOLS = ("paper", "grouped")
SPACE_EXCLUSIONS = ("none", "quality", "paper")
SPACE_DIFFS = (("text_if", "length"), ("text_if", "text_rf"))


def _space_records(results: dict, pattern: str) -> list[dict]:
    """The numeric records ``pattern.format(protocol=..., exclusion=...)`` of every cell present."""
    out = []
    for p in SPACE_PROTOCOLS:
        for e in SPACE_EXCLUSIONS:
            r = results.get("04_reward", {}).get(pattern.format(protocol=p, exclusion=e))
            if r is not None and isinstance(r.get("value"), (int, float)) and r.get("ci") is not None:
                out.append(dict(r, protocol=p, exclusion=e))
    return out


def _space_interval(claim: Claim, got: dict, results: dict) -> dict[str, str]:
    """``space_interval``: interval rule on the release cell, plus "k of m" over the cells."""
    r = got["ours"]
    if isinstance(r["value"], str):
        return {"ours": r["value"], "verdict": "not run"}
    model = claim.refs["ours"][1].split("/")[1]
    paper = PAPER["pairwise/text/accuracy" if claim.key == "C3a" else "pairwise/if/accuracy"].value
    ci = r["ci"]
    cells = _space_records(results, f"pairwise/{model}/{{protocol}}/{{exclusion}}/accuracy")
    k = sum(c["ci"][0] <= paper <= c["ci"][1] for c in cells)
    ours = (f"{model}: {_fmt(r['value'], pct=True)}"
            + ("" if ci is None else f" [{_fmt(ci[0], pct=True)}, {_fmt(ci[1], pct=True)}]")
            + " (release KFold, 24-worker list)")
    if cells:
        lo = min(c["ci"][0] for c in cells)
        hi = max(c["ci"][1] for c in cells)
        ours += (f"; the paper's {100 * paper:.0f} % lies inside our CI in {k} of {len(cells)} specifications "
                 f"(all cells' CIs within {100 * lo:.1f}–{100 * hi:.1f} %)")
    return {"ours": ours, "verdict": _interval_verdict(paper, r["value"], ci)}


def _space_difference(results: dict) -> dict[str, str]:
    """``space_difference`` (C3c): see the module docstring."""
    gap = PAPER["pairwise/if/accuracy"].value - PAPER["pairwise/text/accuracy"].value
    parts, above, total, cells_all = [], 0, 0, []
    for a, b in SPACE_DIFFS:
        cells = _space_records(results, f"pairwise/diff/{a}_minus_{b}/{{protocol}}/{{exclusion}}")
        if not cells:
            continue
        cells_all.append(cells)
        m = len(cells)
        k_pos = sum(c["ci"][0] > 0 for c in cells)
        k_zero = sum(c["ci"][0] <= 0 <= c["ci"][1] for c in cells)
        k_gap = sum(c["ci"][1] < gap for c in cells)
        x = max(c["ci"][1] for c in cells)
        vals = [c["value"] for c in cells]
        above += k_pos
        total += m
        if k_zero == m:
            lead = f"not distinguishable from {b} in {m} of {m} specifications"
        else:
            where = ", ".join(f"{c['protocol']} folds/{c['exclusion']}" for c in cells if c["ci"][0] > 0)
            lead = f"CI includes 0 in {k_zero} of {m} specifications, above 0 in {k_pos}" + (f" ({where})" if where else "")
        parts.append(f"{a} − {b}: {100 * min(vals):+.1f} to {100 * max(vals):+.1f} points; {lead}; "
                     f"a gain above {100 * x:+.1f} points is ruled out in {m} of {m}, "
                     f"the paper's {100 * gap:+.0f} in {k_gap} of {m}")
    if not cells_all:
        return {"ours": "not available: run chapter 04_reward", "verdict": "not run"}
    verdict = ("reproduced" if above == total and len(cells_all) == len(SPACE_DIFFS)
               else "partly" if above > 0 else "not reproduced")
    return {"ours": "; ".join(parts), "verdict": verdict}


def evaluate(claim: Claim, results: dict) -> dict[str, str]:
    """Return one summary row for ``claim``: ours, CI, protocol, verdict (by the claim's rule)."""
    got = {role: _get(results, ref) for role, ref in claim.refs.items()}
    missing = [role for role, r in got.items() if r is None]
    row = {"claim": claim.key, "what": claim.text, "paper": claim.paper, "protocol": claim.protocol,
           "chapter": claim.chapter, "section": claim.label}
    if missing:
        return dict(row, ours="not available: run chapter " + claim.chapter, verdict="not run")
    vals = {role: r["value"] for role, r in got.items()}
    not_run = [v for v in vals.values() if isinstance(v, str) and v.startswith("not run")]
    if not_run and claim.rule != "difference":
        return dict(row, ours=not_run[0], verdict="not run")
    if claim.rule == "count":
        q, w = vals["questions"], vals["workers"]
        same = q == PAPER["dataset/questions"].value and w == PAPER["dataset/workers"].value
        return dict(row, ours=f"{q:,} questions / {w} workers",
                    verdict="reproduced" if same else "not reproduced")
    if claim.rule == "diversity":
        real = vals["icc"] > 0.1 and vals["ami"] > vals["ami_perm"]
        k_ok = vals["k_data"] >= PAPER["behaviour/f5/k"].value
        verdict = "reproduced" if real and k_ok else ("partly" if real else "not reproduced")
        return dict(row, ours=(f"between-worker share {vals['icc']:.2f}; AMI with workers "
                               f"{vals['ami']:.3f} (permutation 95th pct {vals['ami_perm']:.3f}); "
                               f"data-driven k = {vals['k_data']}"), verdict=verdict)
    if claim.rule == "space_interval":
        return dict(row, **_space_interval(claim, got, results))
    if claim.rule == "space_difference":
        return dict(row, **_space_difference(results))
    if claim.rule == "interval":
        r = got["ours"]
        paper = PAPER[claim.refs["ours"][1]].value if claim.refs["ours"][1] in PAPER else r["paper"]
        ci = r["ci"]
        ours = _fmt(r["value"], pct=True) + ("" if ci is None else
                                             f" [{_fmt(ci[0], pct=True)}, {_fmt(ci[1], pct=True)}]")
        return dict(row, ours=ours, verdict=_interval_verdict(paper, r["value"], ci))
    if claim.rule == "difference":
        r = got["diff"]
        ci = r["ci"]
        ours = (f"{vals['best_if']} − {vals['best_text']}: {100 * r['value']:+.1f} points"
                + ("" if ci is None else f" [{100 * ci[0]:+.1f}, {100 * ci[1]:+.1f}]"))
        if ci is not None and ci[0] > 0:
            gap = PAPER["pairwise/if/accuracy"].value - PAPER["pairwise/text/accuracy"].value
            verdict = "reproduced" if ci[0] <= gap <= ci[1] else "partly"
        else:
            verdict = "not reproduced"
        return dict(row, ours=ours, verdict=verdict)
    if claim.rule == "ratio":
        r = got["ratio"]
        if r["value"] is None:  # NaN is stored as null: e.g. a zero text-label gain in quick mode
            return dict(row, ours="not estimable in this build (undefined ratio)", verdict="not run")
        ci = r["ci"]
        ours = _fmt(r["value"]) + ("" if ci is None else f" [{_fmt(ci[0])}, {_fmt(ci[1])}]")
        return dict(row, ours=ours, verdict=_interval_verdict(PAPER["dpo/if_vs_text/gain_ratio"].value, r["value"], ci)
                    if isinstance(r["value"], (int, float)) else "not run")
    if claim.rule == "validity":
        return dict(row, **_validity(got))
    if claim.rule == "dpo_control":
        c, d = got["control"], got["diff"]

        def _d(r):
            ci = r["ci"]
            return f"{100 * r['value']:+.1f} points" + ("" if ci is None else f" [{100 * ci[0]:+.1f}, {100 * ci[1]:+.1f}]")

        n = f" ({d['n']} pairs)" if d.get("n") else ""
        separates = c["ci"] is not None and c["ci"][0] > 0
        ours = (f"control explicit − reversed {_d(c)} ({'separates' if separates else 'does not separate'}); "
                f"if_rm − text_rm {_d(d)}{n}")
        if not separates:
            return dict(row, ours=ours, verdict="inconclusive")
        ci = d["ci"]
        if ci is not None and ci[0] > 0:
            verdict = "partly"
        elif ci is not None and ci[1] < 0:
            verdict = "not reproduced"
        else:
            verdict = "inconclusive"
        return dict(row, ours=ours, verdict=verdict)
    if claim.rule == "mse":
        mse, r2 = vals["ours"], vals["r2"]
        paper = PAPER["pointwise/likert/rf_mse"].value
        verdict = "reproduced" if abs(mse - paper) <= 0.05 else "not reproduced"
        ours = f"release protocol: MSE {mse:.3f}, R² {r2:.3f}"
        if isinstance(vals.get("mse_grouped"), (int, float)) and isinstance(vals.get("r2_grouped"), (int, float)):
            ours += f"; worker-grouped: MSE {vals['mse_grouped']:.3f}, R² {vals['r2_grouped']:.3f}"
        return dict(row, ours=ours, verdict=verdict)
    raise ValueError(f"unknown rule {claim.rule!r} for claim {claim.key}")


def _ci_text(r: dict, scale: float = 1.0, fmt: str = "{:+.1f}") -> str:
    ci = r.get("ci")
    return "" if ci is None else " [" + fmt.format(scale * ci[0]) + ", " + fmt.format(scale * ci[1]) + "]"


def _validity(got: dict) -> dict[str, str]:
    """Row V (see the module docstring): ours and the verdict from the validity chapter's results."""
    diff, lag = got["diff"], got["lag"]
    pulled = (diff["ci"] is not None and diff["ci"][0] > 0) and (lag["ci"] is not None and lag["ci"][0] > 0)
    adds = [r["ci"] is not None and r["ci"][0] > 0 for r in (got["idle_add"], got["resid_add"])]
    ours = (f"gaze-cursor distance {diff['value']:+.0f} px once the cursor rests{_ci_text(diff, fmt='{:+.0f}')}; "
            f"gaze follows the cursor by {lag['value']:+.2f} s{_ci_text(lag, fmt='{:+.2f}')}; cursor R² "
            f"{got['r2_moving']['value']:.2f} while it moves, {got['r2_idle']['value']:.2f} at rest; over a "
            f"mouse-only reward model, gaze from rests adds {100 * got['idle_add']['value']:+.1f} points"
            f"{_ci_text(got['idle_add'], 100)}, gaze the mouse does not predict "
            f"{100 * got['resid_add']['value']:+.1f}{_ci_text(got['resid_add'], 100)}")
    verdict = "reproduced" if not pulled else ("partly" if any(adds) else "not reproduced")
    return {"ours": ours, "verdict": verdict}


def summary_table(results_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """One row per claim of :data:`CLAIMS` (see the module docstring for the verdict rules)."""
    results = load_results(results_dir)
    return pd.DataFrame([evaluate(c, results) for c in CLAIMS])


def quote(results: dict, ref: tuple[str, str], unit: str = "") -> str:
    """One recorded estimate as prose: value and CI, in ``unit``.

    Parameters
    ----------
    results
        ``notebook -> numbers`` as returned by :func:`load_results`.
    ref
        ``(notebook, name)`` of the number.
    unit
        ``"points"`` (a difference of proportions, shown x100 with a sign), ``"%"`` (a proportion
        shown x100), ``"px"``, ``"s"`` or ``""`` (the value as recorded, 3 significant digits).

    Returns
    -------
    str
        e.g. ``"-1.8 points [-6.8, +2.3]"``; the recorded text when the value is a string; ``"n/a"``
        when the chapter did not record it.
    """
    r = _get(results, ref)
    if r is None:
        return "n/a"
    v, ci = r.get("value"), r.get("ci")
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return _fmt(v)
    if unit == "points":
        f = lambda x: f"{100 * x:+.1f}"  # noqa: E731
        tail = " points"
    elif unit == "%":
        f = lambda x: f"{100 * x:.1f}"  # noqa: E731
        tail = " %"
    else:
        f = lambda x: f"{x:.3g}"  # noqa: E731
        tail = f" {unit}" if unit else ""
    out = f(v) + tail
    return out if ci is None else f"{out} [{f(ci[0])}, {f(ci[1])}]"


def verdict_counts(table: pd.DataFrame) -> dict[str, int]:
    """How many claims got each verdict."""
    return {k: int(v) for k, v in table["verdict"].value_counts().items()}


def summary_markdown(table: pd.DataFrame) -> str:
    """The summary table as a MyST Markdown table; each claim links to its evidence.

    Each row's ``section`` label becomes a ``{ref}`` role in the claim's cell, so Sphinx resolves
    it to the section's title and a dead label fails the (warnings-as-errors) build. Five columns,
    the long protocol last, so the table fits the page.
    """
    head = ["Claim (where the evidence is)", "Paper", "Ours (95 % CI)", "Verdict", "Protocol"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in table.iterrows():
        claim = f"**{cell(r['claim'])}** {cell(r['what'])} ({{ref}}`{r['section']}`)"
        cells = [cell(r["paper"]), cell(r["ours"]), f"**{cell(r['verdict'])}**", cell(r["protocol"])]
        lines.append(f"| {claim} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
