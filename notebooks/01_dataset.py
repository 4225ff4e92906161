# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# (ch-dataset)=
# # The IFLLM dataset
#
# This chapter reads the raw release of {cite:t}`chang2026mouse` (commit `923bac0`), checks every
# file against the shipped manifest, repairs the known defects of the files, and describes what the
# data hold: who took part, how much was recorded, how answers were rated, and how the paper's
# headline counts relate to the files.
#
# Downloads: {download}`executed notebook <01_dataset.ipynb>` · {download}`results (JSON) <../../results/01_dataset.json>` · source: `notebooks/01_dataset.py`

# %% tags=["parameters"]
mode = "full"  # "quick" (CI) or "full" (the book)
seed = 0
data = None  # release folder or archive; None -> $IFLLM_DATA, else the pinned download
results_dir = "results"

# %% tags=["hide-input"]
import pandas as pd

from ifl_utils import describe
from ifl_utils.data.api import Dataset
from ifl_utils.figures import dataset as figs
from ifl_utils.notebook import setup
from ifl_utils.paper import PAPER

ch = setup("01_dataset", mode=mode, seed=seed, results_dir=results_dir, data=data)
n_boot = 200 if ch.quick else 2000
ds = Dataset(ch.data, progress=False)
queries = ds.queries()
workers = ds.workers()
summary = ds.summary()
pd.set_option("display.precision", 3)

# %% [markdown]
# ## What the release holds
#
# The release has three tables and one folder of behaviour streams per conversation. A *query*
# (turn) is one question with its answer (pointwise mode) or two answers side by side (pairwise
# mode); a *conversation* is one worker on one topic; a *callback* is one WebGazer prediction, at
# which the page wrote the gaze estimate, the last mouse position and, per answer pane, the
# character under each point.

# %% tags=["hide-input"]
rec = ch.record
rec("dataset/all/workers", summary["workers"])
rec("dataset/all/conversations", summary["conversations"])
rec("dataset/all/queries", summary["queries"])
rec("dataset/all/pairwise", summary["queries_by_mode"]["pairwise"])
rec("dataset/all/pointwise", summary["queries_by_mode"]["pointwise"])
rec("dataset/folders", summary["folders"]["total"])
rec("dataset/callbacks", summary["callbacks"])
rec("dataset/recorded_hours", round(summary["recorded_hours"], 1))
rec("dataset/page_sessions", summary["page_sessions"])
pd.DataFrame({"count": {
    "workers with queries": summary["workers"],
    "conversations": summary["conversations"],
    "queries (pairwise / pointwise)": f"{summary['queries']} ({summary['queries_by_mode']['pairwise']} / "
                                      f"{summary['queries_by_mode']['pointwise']})",
    "answers shown": int(queries["llm_response_1"].notna().sum() + queries["llm_response_2"].notna().sum()),
    "behaviour folders (pairwise / pointwise)": f"{summary['folders']['total']} ({summary['folders']['pairwise']} / "
                                                f"{summary['folders']['pointwise']})",
    "tracker callbacks": f"{summary['callbacks']:,}",
    "page sessions": summary["page_sessions"],
    "hours recorded (tab visible)": f"{summary['recorded_hours']:.1f}",
}})

# %% [markdown]
# {glue:text}`dataset.all.workers` workers asked {glue:text}`dataset.all.queries` questions in
# {glue:text}`dataset.all.conversations` conversations; the tracker recorded
# {glue:text}`dataset.callbacks:,` callbacks over {glue:text}`dataset.recorded_hours` hours.
#
# ## Recording volume and sampling rate
#
# WebGazer predicts gaze as fast as the worker's computer allows, so the sampling rate varies by
# worker ({numref}`fig-sampling-rate`). At 10 Hz a reading fixation of 200-250 ms is caught by
# about two samples: enough to follow a reader through lines and paragraphs, not through words.

# %% tags=["hide-input"]
quality = ds.worker_quality()
rate = quality["rate_hz"]
rec("dataset/rate_hz/median", round(float(rate.median()), 1), n=int(rate.notna().sum()))
rec("dataset/rate_hz/p10", round(float(rate.quantile(0.1)), 1))
per_query = describe.per_query_callbacks(queries)
rec("dataset/callbacks_per_query/median", per_query["median"], n=per_query["n"])
rec("dataset/callbacks_per_query/p10", round(per_query["p10"]))
rec("dataset/callbacks_per_query/p90", round(per_query["p90"]))
fig = figs.sampling_rate_by_worker(rate)
_ = ch.figure(fig, "sampling-rate")

# %% [markdown]
# ```{glue:figure} fig.sampling-rate
# :name: fig-sampling-rate
#
# Median WebGazer sampling rate of each worker with behaviour data (Hz, 1 Hz bins; the legend gives
# n). The dashed line is the median over workers, {glue:text}`dataset.rate_hz.median` Hz. Notice
# the slow tail: a tenth of the workers deliver {glue:text}`dataset.rate_hz.p10` Hz or less.
# ```

# %% [markdown]
# The median worker's webcam delivered {glue:text}`dataset.rate_hz.median` samples per second
# (10th percentile {glue:text}`dataset.rate_hz.p10` Hz). A query with a behaviour folder got a
# median of {glue:text}`dataset.callbacks_per_query.median:.0f` callbacks (10th-90th percentile
# {glue:text}`dataset.callbacks_per_query.p10` to {glue:text}`dataset.callbacks_per_query.p90`,
# {numref}`fig-callbacks-per-query`).

# %% tags=["hide-input"]
fig = figs.callbacks_per_query(queries.loc[queries["has_folder"], "callbacks"])
_ = ch.figure(fig, "callbacks-per-query")

# %% [markdown]
# ```{glue:figure} fig.callbacks-per-query
# :name: fig-callbacks-per-query
#
# Tracker callbacks assigned to each query that has a behaviour folder (count, logarithmic bins and
# axis; y: number of queries; the legend gives n and the median, dashed line). Queries without any
# callback cannot be drawn on the logarithmic axis and are left out, so n and the median can differ
# slightly from the text above. The spread covers more than an order of magnitude: queries differ
# widely in how much behaviour they carry.
# ```

# %% [markdown]
# ## Which models answered, and which won
#
# The website drew two models (pairwise) or one (pointwise) per conversation from its pool. A model
# *wins* a pairwise query when the worker preferred its pane ({numref}`fig-model-win-rates`; the
# table below gives the counts).

# %% tags=["hide-input"]
models = describe.model_table(queries, n_resamples=n_boot, random_state=seed)
for _, r in models.iterrows():
    key = r["model"].split("/")[-1].lower().replace(".", "-")
    rec(f"dataset/models/{key}/win_rate", round(float(r["win_rate"]), 3),
        ci=(round(float(r["ci_lo"]), 3), round(float(r["ci_hi"]), 3)), n=int(r["workers"]))
fig = figs.model_win_rates(models)
ch.figure(fig, "model-win-rates")
models.round(3)

# %% [markdown]
# ```{glue:figure} fig.model-win-rates
# :name: fig-model-win-rates
#
# Pairwise win rate of each answering model (%, dot) with its 95 % confidence interval from a
# bootstrap over workers (bar); n beside each model is the number of pairwise answers it gave that
# have a stated preference and no LLM error. The dotted line is 50 %: a model whose interval
# crosses it does not win detectably more or less often than chance.
# ```

# %% [markdown]
# ## Ratings: a ceiling
#
# Workers rated every answer on a 1-5 Likert scale and, in pairwise mode, chose the answer they
# preferred (there was no tie option). {numref}`fig-likert` shows the distribution of the ratings.

# %% tags=["hide-input"]
likert = describe.likert_table(queries)
rec("dataset/likert/top2_share", round(float(likert["top2"].mean()), 3))
agreement = describe.preference_likert_agreement(queries)
rec("dataset/preference/likert_ties", agreement["ties"], n=agreement["rated_pairs"])
rec("dataset/preference/likert_agreement", round(agreement["agree_share"], 3), n=agreement["unequal"])
rec("dataset/preference/right_share", round(float(queries["right_preferred"].astype(float).mean()), 3),
    n=int(queries["right_preferred"].notna().sum()))
fig = figs.likert_distribution(likert)
ch.figure(fig, "likert")
likert.round(3)

# %% [markdown]
# ```{glue:figure} fig.likert
# :name: fig-likert
#
# Share of answers (%) given each Likert rating from 1 (very dissatisfied) to 5 (very satisfied);
# one colour per mode and pane, with its number of rated answers in the legend. Most of the mass
# sits at 4 and 5 (on average {glue:text}`dataset.likert.top2_share:.0%` of the answers), which
# leaves a Likert target little room to vary.
# ```

# %% [markdown]
# On average {glue:text}`dataset.likert.top2_share:.0%` of answers got a 4 or a 5. In
# {glue:text}`dataset.preference.likert_ties` of the pairwise queries rated both ways the two
# Likert ratings tie, so only the forced choice separates the answers; where the ratings differ,
# the choice agrees with them in {glue:text}`dataset.preference.likert_agreement:.1%` of the
# queries. The right pane was preferred in {glue:text}`dataset.preference.right_share:.1%` of
# pairwise queries — close to a coin flip, so a reward model cannot score well by always guessing
# one side.
#
# ## The hidden bullet-point instruction
#
# With probability ½ per query the website appended " respond using bullet points" to the
# question sent to the models (the stored question does not show it).

# %% tags=["hide-input"]
bullets = describe.bullet_effect(queries)
rec("dataset/bullets/share_with_suffix", round(float(queries["adjustment"].mean()), 3), n=len(queries))
rec("dataset/bullets/listy_share_with", round(float(bullets.loc[1, "listy_share"]), 3))
rec("dataset/bullets/listy_share_without", round(float(bullets.loc[0, "listy_share"]), 3))
bullets.round(3)

# %% [markdown]
# With the suffix, {glue:text}`dataset.bullets.listy_share_with:.0%` of answers contain at least
# three list lines, against {glue:text}`dataset.bullets.listy_share_without:.0%` without it: the
# models format as lists most of the time anyway, so the instruction changes the answers less than
# one might expect. It matters for alignment all the same: a model trained on these answers should
# see the same instruction (the DPO chapter, {ref}`ch-dpo`, passes it in the prompt).
#
# ## Who took part

# %% tags=["hide-input"]
demo = describe.demographics(workers)
rec("dataset/demographics/age_median", demo["age"]["median"], n=demo["age"]["n"])
display(demo["gender"])
display(demo["education"])

# %% [markdown]
# Ages run from {glue:text}`dataset.demographics.age_min:.0f` to
# {glue:text}`dataset.demographics.age_max:.0f` (median {glue:text}`dataset.demographics.age_median:.0f`).
# All workers with queries gave consent.

# %% tags=["hide-input"]
rec("dataset/demographics/age_min", demo["age"]["min"])
rec("dataset/demographics/age_max", demo["age"]["max"])
rec("dataset/demographics/consent_share", float(workers.loc[workers["queries"] > 0, "consent"].astype(float).mean()))
assert workers.loc[workers["queries"] > 0, "consent"].astype(int).eq(1).all(), "a worker with queries lacks consent"

# %% [markdown]
# ## Few workers, most of the data
#
# Contributions are very unequal ({numref}`fig-worker-concentration`), which is why every interval
# in this book resamples **workers**, and why models are evaluated with folds grouped by worker
# ({ref}`ch-reward`).

# %% tags=["hide-input"]
w = workers.set_index("worker")
conc_q = describe.imbalance(w["queries"])
conc_c = describe.imbalance(w["callbacks"])
rec("dataset/imbalance/top5_queries_share", round(conc_q["top_share"], 3), n=conc_q["workers"])
rec("dataset/imbalance/top5_callbacks_share", round(conc_c["top_share"], 3), n=conc_c["workers"])
rec("dataset/imbalance/gini_queries", round(conc_q["gini"], 3))
fig = figs.worker_concentration({"queries": w["queries"], "callbacks on a query": w["callbacks"]})
_ = ch.figure(fig, "worker-concentration")

# %% [markdown]
# ```{glue:figure} fig.worker-concentration
# :name: fig-worker-concentration
#
# Cumulative share of the data (%) held by the largest contributors: workers are sorted from the
# largest contribution down (x: number of workers included), one line per quantity (queries asked;
# tracker callbacks assigned to a query), with the number of contributing workers in the legend.
# A steep start means a few workers hold most of the data: the top five hold
# {glue:text}`dataset.imbalance.top5_queries_share:.0%` of the queries.
# ```

# %% [markdown]
# The five most active workers asked {glue:text}`dataset.imbalance.top5_queries_share:.0%` of the
# questions and hold {glue:text}`dataset.imbalance.top5_callbacks_share:.0%` of the callbacks
# assigned to a query (Gini coefficient of queries per worker
# {glue:text}`dataset.imbalance.gini_queries:.2f`).
#
# ## Data quality: every defect repaired and counted
#
# The behaviour files are not CSV (a naive reader raises on some files and silently merges lines in
# others), pairwise gaze files hold every batch twice, some conversations carry timestamps four
# hours off, and more. Each known defect is repaired and counted by the parser; an unknown one stops
# it with the file and line. The *reference* column is the count documented for the release: the
# parser reproduces every one.

# %% tags=["hide-input"]
report = ds.quality_report()
rec("dataset/quality/defect_kinds", len(report))
with_ref = report[report["reference"].notna()]
rec("dataset/quality/with_reference", len(with_ref))
rec("dataset/quality/matching_reference", int(with_ref["matches"].astype(bool).sum()), n=len(with_ref))
rec("dataset/quality/mismatching", ", ".join(f"#{n}" for n in with_ref.loc[~with_ref["matches"].astype(bool), "#"]) or "none")
report

# %% [markdown]
# {glue:text}`dataset.quality.with_reference` of the {glue:text}`dataset.quality.defect_kinds`
# defect kinds have a documented reference count; our counts match
# {glue:text}`dataset.quality.matching_reference` of them (kinds that differ:
# {glue:text}`dataset.quality.mismatching`).
#
# ### Which samples belong to which query
#
# The streams carry no query id. A callback belongs to the query whose answers were on screen: the
# latest query displayed at least one second before it (timestamps are truncated to the second),
# and none after a page reload until a new answer appears. The text under the point checks the
# rule: where a sample's text window matches the answers, it matches the assigned query's answer in
# {glue:text}`dataset.assignment.agreement_pct:.3f` % of the samples.

# %% tags=["hide-input"]
from ifl_utils.data.timeline import agreement as text_agreement

checks = ds.text_checks()
overall = text_agreement(checks)
rec("dataset/assignment/agreement_pct", round(float(overall["agreement_pct"].iloc[0]), 3),
    n=int(overall["matched"].iloc[0]))
rec("dataset/assignment/unassigned_callbacks", ds.counts()["callbacks_unassigned_linked"],
    n=ds.counts()["callbacks_linked"])
pd.concat([overall.assign(group="all"), text_agreement(checks, by=["modality"]).rename(columns={"modality": "group"}),
           text_agreement(checks, by=["mode"]).rename(columns={"mode": "group"})])[
    ["group", "windowed", "matched", "agree", "agreement_pct"]].reset_index(drop=True)

# %% [markdown]
# ### Excluding workers
#
# The paper's code removes 24 workers by a hard-coded list with no stated rule. We offer it as an
# option and a rule of our own, computed from the recordings (median sampling rate below 5 Hz,
# face-valid share below ½, or gaze on the answer text in less than 20 % of the samples while an
# answer was shown; thresholds sit in gaps of the distributions, see
# `ifl_utils.data.exclusions`).

# %% tags=["hide-input"]
ours = ds.quality_exclusions()
paper_list = set(ds.excluded("paper"))
rec("dataset/exclusion/quality_workers", len(ours))
rec("dataset/exclusion/overlap_with_paper", len(set(ours.index) & paper_list))
ours.round(3)

# %% [markdown]
# Our rule excludes {glue:text}`dataset.exclusion.quality_workers` workers, of whom
# {glue:text}`dataset.exclusion.overlap_with_paper` are on the paper's list.
#
# (sec-paper-counts)=
# ## The paper's counts and ours
#
# The abstract reports {glue:text}`paper.dataset.questions:,` multi-turn questions from
# {glue:text}`paper.dataset.workers` Mechanical Turk workers. No selection of the released files gives that
# number of workers:

# %% tags=["hide-input"]
levels = describe.selection_levels(queries, queries.set_index("query_id")["callbacks"], set(ours.index))
closest = levels.iloc[3]
rec("dataset/questions", int(closest["queries"]), n=int(closest["workers"]),
    protocol="queries with a behaviour folder, minus the paper's 24 excluded workers")
rec("dataset/workers", int(closest["workers"]),
    protocol="workers with a behaviour folder, minus the paper's 24 excluded workers")
rec("dataset/task_table_rows", int(len(ds.tasks()) + ds.counts()["task_table_duplicate_rows"]))
rec("dataset/task_table_workers", int(ds.tasks()["worker"].nunique()))

paper_row = pd.DataFrame([{"level": "paper (abstract)", "workers": PAPER["dataset/workers"].value,
                           "queries": PAPER["dataset/questions"].value}])
pd.concat([paper_row, levels], ignore_index=True)

# %% [markdown]
# The closest reproducible figure is {glue:text}`dataset.questions:,` queries from
# {glue:text}`dataset.workers` workers: the queries that have behaviour data once the paper's 24
# workers are removed — what the released feature pipeline starts from. The number of rows of
# `task_table.csv` is {glue:text}`dataset.task_table_rows:,`: it counts *topic assignments* of
# {glue:text}`dataset.task_table_workers` workers, including tasks never started, so its agreement
# with the paper's question count is most likely a coincidence or a count from another snapshot;
# the paper's worker count is not reproducible from the release.
