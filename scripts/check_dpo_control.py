"""Independent re-derivation of the DPO chapter's positive control (analysis-practice §9).

Reads the cached per-pair log-probabilities of the chapter's runs straight from the run files (JSON in
``<cache>/dpo/crossfit/``), recomputes each held-out pair's implicit-reward margin and correctness with
plain Python, the explicit − reversed accuracy difference, and a worker-cluster bootstrap interval
written here from scratch; compares them with ``results/05_dpo.json``. Uses no chapter evaluation
code (only the standard library and numpy).

Run: ``python scripts/check_dpo_control.py [results/05_dpo.json] [cache folder]``
"""
from __future__ import annotations

import glob
import json
import os
import random
import sys
from pathlib import Path


def load_runs(cache: Path, source: str, settings: dict) -> list[dict]:
    """One run per fold: the run files of ``source`` whose training settings match ``settings``; per
    fold the one with the most test pairs (tuning runs score a smaller inner validation set)."""
    best: dict[int, dict] = {}
    for f in glob.glob(str(cache / f"run-{source}-f*-*.json")):
        r = json.loads(Path(f).read_text(encoding="utf-8"))
        c = r["config"]
        if any(c.get(k) != v for k, v in settings.items()):
            continue
        fold = r["fold"]
        if fold not in best or len(r["test"]["query_id"]) > len(best[fold]["test"]["query_id"]):
            best[fold] = r
    return [best[k] for k in sorted(best)]


def per_pair(runs: list[dict], beta: float) -> dict[int, tuple[str, float]]:
    out = {}
    for r in runs:
        t = r["test"]
        for q, w, rp, pol, ref in zip(t["query_id"], t["worker"], t["right_preferred"], t["policy"], t["ref"]):
            r1, r2 = beta * (pol[0] - ref[0]), beta * (pol[1] - ref[1])
            m = (r2 - r1) if rp == 1 else (r1 - r2)
            out[q] = (w, 1.0 if m > 0 else (0.5 if m == 0 else 0.0))
    return out


def main(results: str = "results/05_dpo.json", cache: str | None = None) -> int:
    res = json.loads(Path(results).read_text(encoding="utf-8"))["numbers"]
    if cache is None:
        root = os.environ.get("IFLLM_CACHE") or str(Path.home() / ".cache" / "ifllm")
        cache = str(Path(root) / "dpo" / "crossfit")
    settings = {"lr": res["dpo/tuning/chosen_lr"]["value"], "steps": res["dpo/tuning/chosen_steps"]["value"],
                "alpha": res["dpo/tuning/chosen_alpha"]["value"], "batch_size": res["dpo/tuning/chosen_batch"]["value"],
                "loss": "rdpo"}
    beta = 0.1
    e = per_pair(load_runs(Path(cache), "explicit", settings), beta)
    r = per_pair(load_runs(Path(cache), "explicit_reversed", settings), beta)
    common = sorted(set(e) & set(r))
    assert len(common) == len(e) == len(r), "explicit and reversed runs cover different pairs"
    acc_e = sum(e[q][1] for q in common) / len(common)
    acc_r = sum(r[q][1] for q in common) / len(common)
    diff = acc_e - acc_r
    # worker-cluster bootstrap, written out: resample workers with replacement, keep all their pairs
    by_w: dict[str, list[float]] = {}
    for q in common:
        by_w.setdefault(e[q][0], []).append(e[q][1] - r[q][1])
    workers = sorted(by_w)
    rng = random.Random(12345)
    reps = []
    for _ in range(2000):
        tot, n = 0.0, 0
        for _ in workers:
            d = by_w[workers[rng.randrange(len(workers))]]
            tot += sum(d)
            n += len(d)
        reps.append(tot / n)
    reps.sort()
    lo, hi = reps[int(0.025 * len(reps))], reps[int(0.975 * len(reps)) - 1]
    chapter = res["dpo/control/explicit_minus_reversed/heldout_accuracy"]
    print(json.dumps({"pairs": len(common), "workers": len(workers), "explicit": round(acc_e, 4),
                      "reversed": round(acc_r, 4), "difference": round(diff, 4), "ci": [round(lo, 4), round(hi, 4)],
                      "chapter_difference": chapter["value"], "chapter_ci": chapter["ci"],
                      "agree": abs(round(diff, 4) - chapter["value"]) < 1e-9}, indent=2))
    return 0 if abs(round(diff, 4) - chapter["value"]) < 1e-9 else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
