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
# (ch-behaviour)=
# # How people read the answers
#
# The paper's second claim is that "users have very diverse types of gazing behavior and mouse
# trajectories" {cite:p}`chang2026mouse`. This chapter rebuilds the release's behaviour figures from
# the raw samples — one answer replayed (F1), mean reading curves (F2, F3), where in the answer
# people look (F4), clusters of reading curves (F5), gaze-mouse agreement (F6) — and then asks how
# much of the variation lies *between people*.

# %% tags=["parameters"]
mode = "full"  # "quick" (CI) or "full" (the book)
seed = 0
data = None  # release folder or archive; None -> $IFLLM_DATA, else the pinned download
results_dir = "results"
exclude = "paper"  # workers left out: "paper" (the release's 24, as its figure scripts), "quality", "none"
example = 0  # which eligible pairwise query F1 shows (0, 1, 2, ...)

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import HTML, display

from ifl_utils.behaviour import agreement, clustering, diversity, events, replay
from ifl_utils.behaviour import trajectories as tr
from ifl_utils.data.api import Dataset
from ifl_utils.figures import behaviour as figs
from ifl_utils.notebook import setup

ch = setup("02_behaviour", mode=mode, seed=seed, results_dir=results_dir, data=data)
rec = ch.record
n_boot = 200 if ch.quick else 2000  # bootstrap resamples (over workers) for bands and CIs
n_stab = 3 if ch.quick else 20  # bootstrap refits per k for cluster stability
n_perm = 100 if ch.quick else 1000  # permutations for AMI baselines and tests
ds = Dataset(ch.data, progress=False)
queries = ds.queries()
samples = ds.samples(columns=list(dict.fromkeys(tr.SAMPLE_COLUMNS + events.SAMPLE_COLUMNS
                                                 + ["gaze1_char", "gaze2_char", "mouse1_char", "mouse2_char"])),
                     exclude=exclude)
pd.set_option("display.precision", 3)
print(f"workers excluded: {exclude!r}; callbacks kept: {len(samples):,}")

# %% [markdown]
# ## What the tracker can and cannot see
#
# WebGazer estimates gaze from the webcam image whenever the browser gives it time. Three limits
# shape everything below:
#
# - **Rate.** Over every worker with behaviour data, the median worker's tracker delivered
#   {glue:text}`behaviour.rate_hz.all_workers_median:.1f` samples per second (10th percentile
#   {glue:text}`behaviour.rate_hz.all_workers_p10:.1f` Hz); among the workers analysed here the
#   median is {glue:text}`behaviour.rate_hz.worker_median:.1f` Hz (per page session:
#   {glue:text}`behaviour.rate_hz.session_median:.1f` Hz). A reading fixation of 200-250 ms gets two
#   or three samples.
# - **Accuracy.** Webcam gaze errs by roughly 200 px and lags by about 300 ms {cite:p}`chang2026mouse`.
#   Two hundred pixels are several lines of text, so areas of interest must be **lines or
#   paragraphs, never words**; a "position in the answer" is accurate to a few lines.
# - **Not independent of the mouse.** WebGazer keeps calibrating from clicks and cursor movements
#   during the task, so the gaze estimate is partly pulled towards the mouse. Agreement between gaze
#   and mouse (F6) is therefore an upper bound on how much the eyes follow the cursor.

# %% tags=["hide-input"]
# the tracker's rate is a property of the recordings: measured on every worker with behaviour data
rates_all = events.sampling_rates(ds.samples(columns=["worker", "task_id", "session", "query_id", "page_time"]))
rec("behaviour/rate_hz/all_workers_median", round(float(rates_all["worker"].median()), 2), n=len(rates_all["worker"]))
rec("behaviour/rate_hz/all_workers_p10", round(float(rates_all["worker"].quantile(0.1)), 2), n=len(rates_all["worker"]))
rates = events.sampling_rates(samples)
support = events.support_table(rates)
rec("behaviour/rate_hz/worker_median", round(float(rates["worker"].median()), 2), n=len(rates["worker"]))
rec("behaviour/rate_hz/session_median", round(float(rates["session"].median()), 2), n=len(rates["session"]))
rec("behaviour/rate_hz/query_median", round(float(rates["query"].median()), 2), n=len(rates["query"]))
support

# %% [markdown]
# ## Reading curves
#
# A *reading curve* follows one modality (gaze or mouse) on one answer pane of one query: the
# position of the point in the answer (character offset / answer length) against the time it spent
# on the answer, normalised to 0-100 % of the span between its first and last on-answer sample.
# Samples with the same timestamp are averaged and each curve is resampled to 100 points, as in the
# release's F2 script. We add one rule: a curve needs at least {glue:text}`behaviour.curves.min_samples`
# on-answer samples (about 0.75 s of looking) so that no curve is drawn from a few stray samples.

# %% tags=["hide-input"]
curves = tr.reading_curves(samples, queries)
rec("behaviour/curves/min_samples", curves.params["min_samples"])
rec("behaviour/curves/candidates", curves.params["candidates"])
rec("behaviour/curves/kept", len(curves), n=curves.meta["worker"].nunique())
rec("behaviour/curves/dropped_min_samples", curves.dropped[f"fewer_than_{curves.params['min_samples']}_samples"])
rec("behaviour/curves/dropped_single_timestamp", curves.dropped["single_timestamp"])
rec("behaviour/curves/dropped_llm_error", curves.dropped["llm_error_answer"])
rec("behaviour/curves/workers", curves.meta["worker"].nunique())
tr.counts_by(curves.meta, ["side", "modality"])

# %% [markdown]
# Of {glue:text}`behaviour.curves.candidates` candidate curves, the minimum-sample rule drops
# {glue:text}`behaviour.curves.dropped_min_samples`, {glue:text}`behaviour.curves.dropped_single_timestamp`
# have a single timestamp and {glue:text}`behaviour.curves.dropped_llm_error` lie on LLM error
# messages; {glue:text}`behaviour.curves.kept` curves from {glue:text}`behaviour.curves.workers`
# workers remain.
#
# ## F1 — one answer pair, replayed
#
# A pairwise query chosen by a seeded rule (the `example` parameter picks another): both answers
# re-wrapped at 60 characters, every on-answer gaze and mouse sample placed at the (column, line) of
# its character offset, coloured by time.

# %% tags=["hide-input"]
qid = replay.pick_example(curves.meta, seed=seed, pick=example)
qrow = queries.set_index("query_id").loc[qid].copy()
qrow["query_id"] = qid
path, texts = replay.answer_path(samples, qrow)
rec("behaviour/example/query_id", qid)
rec("behaviour/example/samples", len(path))
rec("behaviour/example/seconds", round(float(path["t_s"].max()), 1))
print(f"query {qid}: {qrow['user_query']!r}")
fig = figs.answer_paths(path, texts, qid)
ch.save_figure(fig, "f1-paths")
plt.show()

# %% tags=["hide-input"]
fig = figs.answer_timeline(path, qid)
ch.save_figure(fig, "f1-timeline")
plt.show()

# %% [markdown]
# The replay below steps through the {glue:text}`behaviour.example.seconds` s of this query at ten
# times real speed (press *play* or drag the slider; the last 25 samples of each stream are drawn,
# gaze blue, mouse vermillion). It is a self-contained HTML/JS widget: the text is one embedded
# image, the samples are embedded coordinates.

# %% tags=["hide-input", "nbval-ignore-output"]
html = replay.replay_html(path, texts, qid)
rec("behaviour/example/replay_kb", round(len(html) / 1024))
display(HTML(html))

# %% [markdown]
# ## F2, F3 — mean reading position over time
#
# Curves are averaged with equal weight per answer; the bands are 95 % intervals from a bootstrap
# over workers.

# %% tags=["hide-input"]
fig = figs.mean_curves_by_side(curves, n_boot=n_boot, seed=seed)
ch.save_figure(fig, "f2-mean-curves")
plt.show()
for m in ("gaze", "mouse"):
    cm = curves.where(modality=m)
    mean, lo, hi = tr.mean_curve_ci(cm.curves, cm.meta["worker"], n_resamples=n_boot, random_state=seed)
    rec(f"behaviour/f2/{m}/mid_position", round(float(mean[49]), 3), ci=(round(float(lo[49]), 3), round(float(hi[49]), 3)),
        n=cm.meta["worker"].nunique())
    rec(f"behaviour/f2/{m}/end_position", round(float(mean[-1]), 3), ci=(round(float(lo[-1]), 3), round(float(hi[-1]), 3)),
        n=cm.meta["worker"].nunique())

# %% [markdown]
# Half-way through the time on an answer, the gaze is on average at
# {glue:text}`behaviour.f2.gaze.mid_position:.0%` of the text, and at the end of the span at
# {glue:text}`behaviour.f2.gaze.end_position:.0%` (mouse: {glue:text}`behaviour.f2.mouse.mid_position:.0%`
# and {glue:text}`behaviour.f2.mouse.end_position:.0%`). Reading runs top to bottom on average,
# but the mean curve is far from a straight line from 0 to 100 %: many people stop early, jump
# back, or finish early and look around.

# %% tags=["hide-input"]
fig = figs.mean_curves_by_tertile(curves, n_boot=n_boot, seed=seed)
ch.save_figure(fig, "f3-mean-curves-tertile")
plt.show()
for t in ("short", "medium", "long"):
    ct = curves.where(modality="gaze", tertile=t)
    est, lo, hi = tr.mean_curve_ci(ct.curves[:, -1:], ct.meta["worker"], n_resamples=n_boot, random_state=seed)
    rec(f"behaviour/f3/gaze/{t}/end_position", round(float(est[0]), 3), ci=(round(float(lo[0]), 3), round(float(hi[0]), 3)),
        n=ct.meta["worker"].nunique())
    rec(f"behaviour/f3/gaze/{t}/furthest_median", round(float(ct.meta["furthest"].median()), 3), n=len(ct))

# %% [markdown]
# At the end of the looking span the gaze sits at {glue:text}`behaviour.f3.gaze.short.end_position:.0%`
# of short answers, {glue:text}`behaviour.f3.gaze.medium.end_position:.0%` of medium and
# {glue:text}`behaviour.f3.gaze.long.end_position:.0%` of long ones; the median furthest point
# reached is {glue:text}`behaviour.f3.gaze.short.furthest_median:.0%`,
# {glue:text}`behaviour.f3.gaze.medium.furthest_median:.0%` and
# {glue:text}`behaviour.f3.gaze.long.furthest_median:.0%`.
#
# ## F4 — where in the answer people look

# %% tags=["hide-input"]
fig = figs.position_histograms(curves)
ch.save_figure(fig, "f4-histograms")
plt.show()
g = curves.where(modality="gaze")
for t in ("short", "medium", "long"):
    rec(f"behaviour/f4/gaze/{t}/first_third_share", round(float(tr.mean_hist(g.where(tertile=t).hist)[:33].sum()), 3),
        n=len(g.where(tertile=t)))
rec("behaviour/f4/gaze/last_bin_share", round(float(tr.mean_hist(g.hist)[-1]), 3), n=len(g))

# %% [markdown]
# On long answers {glue:text}`behaviour.f4.gaze.long.first_third_share:.0%` of the gaze samples fall
# in the first third of the text (short answers: {glue:text}`behaviour.f4.gaze.short.first_third_share:.0%`).
# The spike in the last 1 % bin ({glue:text}`behaviour.f4.gaze.last_bin_share:.1%` of all gaze samples)
# is most likely an artefact of the recording: a point inside the pane but below the last line gets
# the caret offset of the end of the text.
# The heat map spreads the average histogram of the example's length tertile over the characters of
# the example pair (left and right panes averaged separately).

# %% tags=["hide-input"]
tert_left = str(curves.meta.loc[(curves.meta["query_id"] == qid) & (curves.meta["pane"] == 1), "tertile"].iloc[0])
pw = g.where(mode="pairwise", tertile=tert_left)
hists = {p: tr.mean_hist(pw.where(pane=p).hist) for p in (1, 2)}
lengths = {p: int(qrow[f"len_utf16_{p}"]) for p in (1, 2)}
fig = figs.character_heatmap(texts, lengths, hists, qid, tert_left)
ch.save_figure(fig, "f4-heatmap")
plt.show()

# %% [markdown]
# ## F5 — clusters of reading curves
#
# The release clusters the 100-point gaze curves of the pairwise **left** pane with bisecting
# k-means, k = 10. We fit exactly that, and beside it ask which k the data support: the silhouette
# (how well separated the clusters are) and the stability of the clusters when the curves are
# resampled (mean adjusted Rand index over bootstrap refits). The data-driven k is the best
# silhouette among the k whose stability reaches {glue:text}`behaviour.f5.stable_ari`.

# %% tags=["hide-input"]
left = curves.where(modality="gaze", side="pairwise left")
paper = clustering.bisecting_kmeans(left.curves, k=clustering.PAPER_K, random_state=42)
ksel = clustering.choose_k(left.curves, range(2, 11), n_boot=n_stab, random_state=seed)
k_data = clustering.data_driven_k(ksel)
rec("behaviour/f5/stable_ari", clustering.STABLE_ARI)
rec("behaviour/f5/curves", len(left), n=left.meta["worker"].nunique())
rec("behaviour/f5/k_data", k_data)
rec("behaviour/f5/silhouette_k10", round(float(ksel.loc[ksel["k"] == 10, "silhouette"].iloc[0]), 3))
rec("behaviour/f5/stability_k10", round(float(ksel.loc[ksel["k"] == 10, "stability"].iloc[0]), 3))
rec("behaviour/f5/silhouette_kdata", round(float(ksel.loc[ksel["k"] == k_data, "silhouette"].iloc[0]), 3))
rec("behaviour/f5/stability_kdata", round(float(ksel.loc[ksel["k"] == k_data, "stability"].iloc[0]), 3))
fig = figs.k_selection(ksel, k_data)
ch.save_figure(fig, "f5-k-selection")
plt.show()
ksel.round(3)

# %% [markdown]
# On {glue:text}`behaviour.f5.curves` left-pane gaze curves, k = 10 has silhouette
# {glue:text}`behaviour.f5.silhouette_k10:.2f` and stability {glue:text}`behaviour.f5.stability_k10:.2f`;
# the data-driven choice is k = {glue:text}`behaviour.f5.k_data` (silhouette
# {glue:text}`behaviour.f5.silhouette_kdata:.2f`, stability {glue:text}`behaviour.f5.stability_kdata:.2f`).
# The paper's ten clusters are kept below as the release drew them; read them with their silhouette
# and stability beside the data-driven k's. Shape families are formed from the ten centres by Ward
# linkage (number of families by silhouette) — no hand-set overrides; each family is described by
# its mean position at mid-time and at the end.

# %% tags=["hide-input"]
families = clustering.shape_families(paper.centers)
names = [clustering.describe_family(paper.centers[families == f].mean(axis=0)) for f in range(families.max() + 1)]
rec("behaviour/f5/families", int(families.max() + 1))
examples = clustering.example_members(paper.labels, n=10, random_state=42)
fig = figs.cluster_centres(paper.centers, paper.sizes, families, names, examples, left.curves)
ch.save_figure(fig, "f5-clusters")
plt.show()
pd.DataFrame({"cluster": [f"C{i + 1}" for i in range(len(paper.sizes))], "curves": paper.sizes,
              "workers": [left.meta.loc[paper.labels == i, "worker"].nunique() for i in range(len(paper.sizes))],
              "family": families + 1, "mid position": paper.centers[:, 49], "end position": paper.centers[:, -1]})

# %% tags=["hide-input"]
tree = clustering.bisection_tree(paper)
fig = figs.bisection_tree_plot(tree)
ch.save_figure(fig, "f5-tree")
plt.show()

# %% [markdown]
# ### Do clusters mark people, modes, lengths — or ratings?
#
# If reading styles were individual traits, the clusters would line up with workers. Adjusted mutual
# information (AMI, 0 = chance) is compared with a permutation baseline (worker labels shuffled).
# For mode and pane, every gaze curve is assigned to its nearest leaf of the fitted tree. Relations to
# ratings are tested with the outcome shuffled *within* workers, so one worker's habits cannot
# create an effect; effect sizes are Cramér's V (preference) and Kruskal-Wallis ε² (Likert).

# %% tags=["hide-input"]
ami_w = agreement.ami_with_baseline(paper.labels, left.meta["worker"], n_perm=n_perm, random_state=seed)
ami_t = agreement.ami_with_baseline(paper.labels, left.meta["tertile"].astype(str), n_perm=n_perm, random_state=seed)
allg = curves.where(modality="gaze")
ami_s = agreement.ami_with_baseline(paper.predict(allg.curves), allg.meta["side"], n_perm=n_perm, random_state=seed)
pref = agreement.cluster_outcome_test(paper.labels, left.meta["preferred"], left.meta["worker"], kind="nominal",
                                      n_perm=n_perm, random_state=seed)
lik = agreement.cluster_outcome_test(paper.labels, left.meta["likert"], left.meta["worker"], kind="ordinal",
                                     n_perm=n_perm, random_state=seed)
for name, a in (("worker", ami_w), ("tertile", ami_t), ("side", ami_s)):
    rec(f"behaviour/f5/ami_{name}", round(a["ami"], 3), n=a["n"])
    rec(f"behaviour/f5/ami_{name}_perm_p95", round(a["perm_p95"], 3))
rec("behaviour/f5/preference_cramers_v", round(pref["effect"], 3), n=pref["n"])
rec("behaviour/f5/preference_p_within_worker", round(pref["p_perm"], 3))
rec("behaviour/f5/preference_n", pref["n"], n=pref["workers"])
rec("behaviour/f5/likert_n", lik["n"], n=lik["workers"])
rec("behaviour/f5/likert_epsilon2", round(lik["effect"], 3), n=lik["n"])
rec("behaviour/f5/likert_p_within_worker", round(lik["p_perm"], 3))
pd.DataFrame({"worker": ami_w, "length tertile": ami_t, "mode / pane (all gaze curves)": ami_s}).T.round(3)

# %% [markdown]
# Clusters carry information about the worker (AMI {glue:text}`behaviour.f5.ami_worker:.3f` against a
# permutation 95th percentile of {glue:text}`behaviour.f5.ami_worker_perm_p95:.3f`), about the answer
# length (AMI {glue:text}`behaviour.f5.ami_tertile:.3f`, baseline
# {glue:text}`behaviour.f5.ami_tertile_perm_p95:.3f`) and about mode and pane (AMI
# {glue:text}`behaviour.f5.ami_side:.3f`, baseline {glue:text}`behaviour.f5.ami_side_perm_p95:.3f`);
# an AMI of 1 would mean the clusters are the groups. Membership and the stated preference: Cramér's V
# {glue:text}`behaviour.f5.preference_cramers_v:.2f` over {glue:text}`behaviour.f5.preference_n` left
# answers with a preference (within-worker permutation p =
# {glue:text}`behaviour.f5.preference_p_within_worker:.3f`); membership and the Likert rating of the
# left answer: ε² = {glue:text}`behaviour.f5.likert_epsilon2:.3f` over {glue:text}`behaviour.f5.likert_n`
# rated answers (p =
# {glue:text}`behaviour.f5.likert_p_within_worker:.3f`).
#
# ## F6 — do the eyes and the mouse agree?
#
# For every answer with both a gaze and a mouse curve: Pearson and Spearman r between the two
# 100-point curves. These are effect sizes only; p-values over interpolated, autocorrelated points
# would be meaningless.

# %% tags=["hide-input"]
r = agreement.gaze_mouse_correlations(curves)
rec("behaviour/f6/answers", len(r), n=r["worker"].nunique())
rec("behaviour/f6/pearson_median", round(float(r["pearson"].median()), 3), n=len(r))
rec("behaviour/f6/spearman_median", round(float(r["spearman"].median()), 3), n=len(r))
rec("behaviour/f6/pearson_mean", round(float(r["pearson"].mean()), 3), n=len(r))
rec("behaviour/f6/share_above_0_7", round(float((r["pearson"] >= 0.7).mean()), 3), n=len(r))
for t in ("short", "medium", "long"):
    rec(f"behaviour/f6/{t}/pearson_median", round(float(r.loc[r["tertile"] == t, "pearson"].median()), 3),
        n=int((r["tertile"] == t).sum()))
fig = figs.gaze_mouse_agreement(r)
ch.save_figure(fig, "f6-agreement")
plt.show()
r.groupby("side")[["pearson", "spearman"]].describe().round(3)

# %% tags=["hide-input"]
pw_agree = agreement.per_worker_agreement(r, min_answers=5, threshold=0.7)
rec("behaviour/f6/workers_with_cursor", int(pw_agree["with_cursor"].sum()), n=len(pw_agree))
rec("behaviour/f6/workers_rated", len(pw_agree))
fig = figs.per_worker_agreement_plot(pw_agree, 0.7)
ch.save_figure(fig, "f6-per-worker")
plt.show()

# %% [markdown]
# Over {glue:text}`behaviour.f6.answers` answers the median Pearson r between the gaze and mouse
# curves is {glue:text}`behaviour.f6.pearson_median:.2f` (Spearman
# {glue:text}`behaviour.f6.spearman_median:.2f`); {glue:text}`behaviour.f6.share_above_0_7:.0%` of
# answers reach r ≥ 0.7. By length: short {glue:text}`behaviour.f6.short.pearson_median:.2f`, medium
# {glue:text}`behaviour.f6.medium.pearson_median:.2f`, long {glue:text}`behaviour.f6.long.pearson_median:.2f`.
# {glue:text}`behaviour.f6.workers_with_cursor` of the {glue:text}`behaviour.f6.workers_rated` workers
# with at least five answers have a median r of 0.7 or more: they read with the cursor. Remember that
# WebGazer calibrates partly from the mouse, so part of this agreement is the tracker's, not the
# reader's.
#
# ## Diversity between people
#
# Three per-answer measures from the gaze curves: the share of the query's samples on this answer
# (*in-pane share*), the *reading speed* (furthest character reached per second of capped dwell
# time) and the *depth* (furthest position reached). How much of their variance lies between
# workers? A random-intercept model (statsmodels, REML) gives the intraclass correlation (ICC), a
# one-way ANOVA the η² as a cross-check (speed on a log scale); both again without the five workers
# with the most curves.

# %% tags=["hide-input"]
gm = curves.where(modality="gaze").meta
var = diversity.variance_between_workers(gm, leave_out_top=5)
for _, row in var.iterrows():
    sub = "all" if row["subset"] == "all workers" else "without_top5"
    rec(f"behaviour/diversity/{row['measure']}/icc_{sub}", round(float(row["icc"]), 3), n=int(row["workers"]))
fig = figs.worker_distributions(gm, diversity.MEASURES)
ch.save_figure(fig, "diversity-workers")
plt.show()
var.round(3)

# %% tags=["hide-input"]
ws = diversity.worker_summary(gm)
rec("behaviour/diversity/workers", len(ws))
rec("behaviour/diversity/speed_cps_p10", round(float(ws["speed_cps"].quantile(0.1)), 1), n=len(ws))
rec("behaviour/diversity/speed_cps_p90", round(float(ws["speed_cps"].quantile(0.9)), 1), n=len(ws))
rec("behaviour/diversity/in_share_p10", round(float(ws["in_share"].quantile(0.1)), 3), n=len(ws))
rec("behaviour/diversity/in_share_p90", round(float(ws["in_share"].quantile(0.9)), 3), n=len(ws))
ws.head(10).round(3)

# %% [markdown]
# Between workers, the per-worker median reading speed ranges from
# {glue:text}`behaviour.diversity.speed_cps_p10:.0f` to {glue:text}`behaviour.diversity.speed_cps_p90:.0f`
# characters per second (10th to 90th percentile of {glue:text}`behaviour.diversity.workers` workers),
# the in-pane share from {glue:text}`behaviour.diversity.in_share_p10:.0%` to
# {glue:text}`behaviour.diversity.in_share_p90:.0%`. The worker explains an ICC of
# {glue:text}`behaviour.diversity.in_share.icc_all:.2f` of the variance of the in-pane share,
# {glue:text}`behaviour.diversity.speed_cps.icc_all:.2f` of (log) speed and
# {glue:text}`behaviour.diversity.furthest.icc_all:.2f` of depth; without the five heaviest workers:
# {glue:text}`behaviour.diversity.in_share.icc_without_top5:.2f`,
# {glue:text}`behaviour.diversity.speed_cps.icc_without_top5:.2f` and
# {glue:text}`behaviour.diversity.furthest.icc_without_top5:.2f`. The paper's claim of diverse
# behaviour holds in this sense: a sizeable part of the variation is a property of the person, which
# is also why every interval here resamples workers.
#
# ## Reading events: what webcam gaze supports
#
# Fixations need a steady clock: gaze is resampled to a 20 Hz grid (no interpolation across gaps over
# 200 ms) and pymovements' I-DT finds fixations with a dispersion of at most 150 px and a minimum
# duration of 200 ms — thresholds sized for webcam noise, not for a lab tracker. Only page sessions
# with a median rate of at least {glue:text}`behaviour.events.min_rate_hz` Hz are used.

# %% tags=["hide-input"]
fig = figs.rate_support(rates, events.MIN_RATE_HZ)
ch.save_figure(fig, "event-support")
plt.show()
sess = rates["session"].reset_index().rename(columns={"interval_ms": "rate"})
sess.columns = ["worker", "task_id", "session", "rate"]
ok = sess[sess["rate"] >= events.MIN_RATE_HZ].sort_values(["worker", "task_id", "session"]).reset_index(drop=True)
if ch.quick:  # a seeded sample of sessions keeps quick mode fast
    ok = ok.sample(n=min(20, len(ok)), random_state=seed).sort_values(["worker", "task_id", "session"])
rec("behaviour/events/min_rate_hz", events.MIN_RATE_HZ)
rec("behaviour/events/session_share", round(float((rates["session"] >= events.MIN_RATE_HZ).mean()), 3),
    n=len(rates["session"]))
rec("behaviour/events/query_share", round(float((rates["query"] >= events.MIN_RATE_HZ).mean()), 3),
    n=len(rates["query"]))
fix = events.detect_fixations(samples, ok)
fs = events.fixation_summary(fix)
rec("behaviour/events/sessions_used", fs["sessions"], n=fs["workers"])
rec("behaviour/events/fixations", fs["fixations"])
rec("behaviour/events/median_duration_ms", round(fs["median_duration_ms"]), n=fs["fixations"])
rec("behaviour/events/on_text_share", round(fs["on_text_share"], 3), n=fs["fixations"])
rec("behaviour/events/regression_share", round(fs["regression_share"], 3), n=fs["transitions"])
fig = figs.fixation_durations(fix)
ch.save_figure(fig, "fixations")
plt.show()

# %% [markdown]
# {glue:text}`behaviour.events.session_share:.0%` of page sessions and
# {glue:text}`behaviour.events.query_share:.0%` of queries reach the rate. In the
# {glue:text}`behaviour.events.sessions_used` sessions processed, I-DT finds
# {glue:text}`behaviour.events.fixations:,` fixations with a median duration of
# {glue:text}`behaviour.events.median_duration_ms` ms (durations are multiples of the 50 ms grid, and
# the tail of long "fixations" is webcam noise merging neighbouring fixations within the 150 px
# dispersion); {glue:text}`behaviour.events.on_text_share:.0%` of them lie on answer text, and
# {glue:text}`behaviour.events.regression_share:.0%` of moves between consecutive on-text fixations
# jump back by more than a tenth of the answer. Line-level measures (fixations per line, return
# sweeps) are **not** feasible: the line height is about 20-25 px against an error of about 200 px,
# and the pane geometry (line breaks on screen) was not recorded. The position curves above are the
# resolution these data support.
