"""Reproduction summary: verdicts follow the stated rules, missing chapters are reported."""
from __future__ import annotations

import json

from ifl_utils.summary import CLAIMS, evaluate, summary_table


def _num(value, ci=None):
    return {"value": value, "ci": ci, "n": None, "protocol": None, "paper": None, "paper_source": None}


def _claim(key):
    return next(c for c in CLAIMS if c.key == key)


def test_interval_rule():
    c = _claim("C3b")
    inside = {"04_reward": {"pairwise/if_rf/paper/accuracy": _num(0.62, [0.58, 0.66])}}
    near = {"04_reward": {"pairwise/if_rf/paper/accuracy": _num(0.615, [0.60, 0.63])}}
    far = {"04_reward": {"pairwise/if_rf/paper/accuracy": _num(0.55, [0.52, 0.58])}}
    assert evaluate(c, inside)["verdict"] == "reproduced"
    assert evaluate(c, near)["verdict"] == "partly"
    assert evaluate(c, far)["verdict"] == "not reproduced"


def test_count_and_missing_and_not_run():
    c1 = _claim("C1")
    r = {"01_dataset": {"dataset/questions": _num(1362), "dataset/workers": _num(57)}}
    assert evaluate(c1, r)["verdict"] == "not reproduced"
    r = {"01_dataset": {"dataset/questions": _num(1336), "dataset/workers": _num(59)}}
    assert evaluate(c1, r)["verdict"] == "reproduced"
    assert evaluate(c1, {})["verdict"] == "not run"
    c4 = _claim("C4")
    assert evaluate(c4, {"05_dpo": {"dpo/if_vs_text/gain_ratio": _num(3.0, [1.0, 5.0])}})["verdict"] == "not run"


def test_space_difference_rule_counts_cells_and_quotes_the_widest_bound():
    c = _claim("C3c")
    cells = [(p, e) for p in ("paper", "grouped") for e in ("none", "quality", "paper")]
    nums = {}
    for i, (p, e) in enumerate(cells):
        nums[(p, e, "L")] = ("text_if", "length", -0.01 + 0.005 * i, -0.06, 0.02 + 0.01 * i)
        nums[(p, e, "R")] = ("text_if", "text_rf", 0.0, -0.04, 0.03)
    res = {"04_reward": {"pairwise/robustness/text_if_minus_length/cells": _num(6)}}
    for (p, e, _), (a, b, v, lo, hi) in nums.items():
        res["04_reward"][f"pairwise/diff/{a}_minus_{b}/{p}/{e}"] = _num(v, [lo, hi])
    row = evaluate(c, res)
    assert row["verdict"] == "not reproduced"
    assert "not distinguishable from length in 6 of 6 specifications" in row["ours"]
    assert "a gain above +7.0 points is ruled out in 6 of 6" in row["ours"]      # widest upper bound
    assert "the paper's +9 in 6 of 6" in row["ours"]
    # one cell above zero: partly; every cell of both above zero: reproduced
    res["04_reward"]["pairwise/diff/text_if_minus_length/grouped/none"] = _num(0.05, [0.01, 0.10])
    row = evaluate(c, res)
    assert row["verdict"] == "partly" and "above 0 in 1" in row["ours"] and "the paper's +9 in 5 of 6" in row["ours"]
    for k in [k for k in res["04_reward"] if "/diff/" in k]:
        res["04_reward"][k] = _num(0.1, [0.02, 0.2])
    assert evaluate(c, res)["verdict"] == "reproduced"
    assert evaluate(c, {})["verdict"] == "not run"


def test_space_interval_rule_says_k_of_m():
    c = _claim("C3b")
    res = {"04_reward": {"pairwise/if_rf/paper/accuracy": _num(0.62, [0.58, 0.66]),
                         "pairwise/if_rf/paper/paper/accuracy": _num(0.62, [0.58, 0.66]),
                         "pairwise/if_rf/grouped/quality/accuracy": _num(0.59, [0.55, 0.63]),
                         "pairwise/if_rf/grouped/paper/accuracy": _num(0.58, [0.53, 0.62])}}
    row = evaluate(c, res)
    assert row["verdict"] == "reproduced"
    assert "inside our CI in 1 of 3 specifications" in row["ours"] and "53.0–66.0 %" in row["ours"]
    c3a = _claim("C3a")
    assert evaluate(c3a, {"04_reward": {"pairwise/text_finetuned/paper/accuracy": _num("not run in quick mode")}}
                    )["verdict"] == "not run"


def test_mse_rule_names_both_protocols():
    c = _claim("C5")
    res = {"04_reward": {"pointwise/likert/if_rf/paper/mse": _num(0.58), "pointwise/likert/if_rf/paper/r2": _num(0.002),
                         "pointwise/likert/if_rf/grouped/mse": _num(0.70),
                         "pointwise/likert/if_rf/grouped/r2": _num(-0.12)}}
    row = evaluate(c, res)
    assert row["verdict"] == "reproduced"
    assert "release protocol: MSE 0.580, R² 0.002; worker-grouped: MSE 0.700, R² -0.120" == row["ours"]


def test_table_from_files(tmp_path):
    (tmp_path / "01_dataset.json").write_text(json.dumps({"notebook": "01_dataset", "numbers": {
        "dataset/questions": _num(1362), "dataset/workers": _num(57)}}))
    t = summary_table(tmp_path)
    assert len(t) == len(CLAIMS)
    assert t.set_index("claim").loc["C1", "verdict"] == "not reproduced"
    assert (t.set_index("claim").drop(index="C1")["verdict"] == "not run").all()


def test_dpo_rule_needs_the_positive_control_first():
    c4 = _claim("C4")
    ctl, diff = "dpo/control/explicit_minus_reversed/heldout_accuracy", "dpo/if_minus_text/heldout_accuracy"

    def ev(control, d):
        return evaluate(c4, {"05_dpo": {ctl: control, diff: d}})

    # a control that does not separate makes any source difference inconclusive, even a "significant" one
    row = ev(_num(0.01, [-0.02, 0.04]), _num(0.05, [0.01, 0.09]))
    assert row["verdict"] == "inconclusive" and "does not separate" in row["ours"]
    good = _num(0.10, [0.04, 0.16])
    assert ev(good, _num(0.05, [0.01, 0.09]))["verdict"] == "partly"
    assert ev(good, _num(-0.05, [-0.09, -0.01]))["verdict"] == "not reproduced"
    assert ev(good, _num(0.01, [-0.03, 0.05]))["verdict"] == "inconclusive"
    assert "+10.0 points [+4.0, +16.0]" in ev(good, _num(0.0, [-0.03, 0.03]))["ours"]
    assert "gain_ratio" not in str(c4.refs)


def test_markdown_table_links_every_claim_to_its_section(tmp_path):
    from ifl_utils.summary import summary_markdown

    (tmp_path / "01_dataset.json").write_text(json.dumps({"notebook": "01_dataset", "numbers": {
        "dataset/questions": _num(1362), "dataset/workers": _num(57)}}))
    t = summary_table(tmp_path)
    t.loc[0, "protocol"] = "a | b"              # a pipe must not split the cell
    md = summary_markdown(t).splitlines()
    assert len(md) == 2 + len(CLAIMS)
    assert all(line.count(" | ") == 4 for line in md[2:])   # 5 cells: the escaped pipe is no separator
    assert md[2].startswith("| **C1** ") and "({ref}`sec-paper-counts`) |" in md[2]
    assert md[2].endswith("a \\| b |")
    assert [c.label for c in CLAIMS if c.key in ("C1", "C4")] == ["sec-paper-counts", "sec-nearly-triples"]


def test_claim_label_defaults_to_the_chapter():
    from ifl_utils.summary import Claim

    assert Claim("X", "t", "p", "04_reward", "interval").label == "ch-reward"


def test_markdown_table_cells():
    import pandas as pd

    from ifl_utils.markdown import table

    df = pd.DataFrame({"path": ["user_behavior/<user_id>/", "a|b"], "holds": ["x < y & z", None]})
    lines = table(df, code=["path"]).splitlines()
    assert lines[0] == "| path | holds |" and lines[1] == "|---|---|"
    assert lines[2] == "| `user_behavior/<user_id>/` | x &lt; y &amp; z |"
    assert lines[3] == "| `a\\|b` |  |"
    assert table(df.set_index("path"), index=True).splitlines()[0] == "| path | holds |"


def test_markdown_doctests():
    import doctest

    from ifl_utils import markdown

    result = doctest.testmod(markdown)
    assert result.attempted > 0 and result.failed == 0


def test_validity_rule():
    c = _claim("V")
    assert c.chapter == "03_validity" and c.label == "sec-validity-verdict"

    def res(diff_ci, lag_ci, idle_ci, resid_ci):
        return {"03_validity": {
            "validity/distance/idle_vs_moving": _num(270.0, diff_ci),
            "validity/leadlag/peak_lag_s": _num(0.1, lag_ci),
            "validity/r2_gaze_on_cursor/moving_median": _num(0.6),
            "validity/r2_gaze_on_cursor/idle_median": _num(0.1),
            "pairwise/paired/grouped/if_idle_gaze_vs_mouse_only": _num(0.02, idle_ci),
            "pairwise/paired/grouped/gaze_residual_vs_mouse_only": _num(0.02, resid_ci)}}

    pulled_nothing = evaluate(c, res([250, 290], [0.05, 0.15], [-0.02, 0.06], [-0.01, 0.05]))
    assert pulled_nothing["verdict"] == "not reproduced"
    assert "+270 px" in pulled_nothing["ours"] and "+0.10 s" in pulled_nothing["ours"]
    assert evaluate(c, res([250, 290], [0.05, 0.15], [-0.02, 0.06], [0.01, 0.05]))["verdict"] == "partly"
    assert evaluate(c, res([-10, 20], [0.05, 0.15], [-0.02, 0.06], [-0.01, 0.05]))["verdict"] == "reproduced"
    assert evaluate(c, res([250, 290], [-0.05, 0.15], [-0.02, 0.06], [-0.01, 0.05]))["verdict"] == "reproduced"
    assert evaluate(c, {})["verdict"] == "not run"


def test_quote_formats_value_and_ci_by_unit():
    from ifl_utils.summary import quote

    res = {"nb": {"d": _num(-0.018, [-0.068, 0.023]), "px": _num(279.17, [248.6, 313.8]),
                  "t": _num("not run in quick mode"), "acc": _num(0.499, None)}}
    assert quote(res, ("nb", "d"), "points") == "-1.8 points [-6.8, +2.3]"
    assert quote(res, ("nb", "px"), "px") == "279 px [249, 314]"
    assert quote(res, ("nb", "acc"), "%") == "49.9 %"
    assert quote(res, ("nb", "t"), "%") == "not run in quick mode"
    assert quote(res, ("nb", "missing"), "%") == "n/a"
    assert quote(res, ("other", "d")) == "n/a"
