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
# much of the variation lies *between people*. F1-F6 are the release's names for its figures; the
# captions keep them beside the book's own figure numbers. The data, the repairs and the rule that
# assigns each tracker sample to a query are those of {ref}`ch-dataset`.
#
# Downloads: {download}`executed notebook <02_behaviour.ipynb>` · {download}`results (JSON) <../../results/02_behaviour.json>` · source: `notebooks/02_behaviour.py`

# %% tags=["parameters"]
mode = "full"  # "quick" (CI) or "full" (the book)
seed = 0
data = None  # release folder or archive; None -> $IFLLM_DATA, else the pinned download
results_dir = "results"
exclude = "paper"  # workers left out: "paper" (the release's 24, as its figure scripts), "quality", "none"
example = 0  # which eligible pairwise query F1 shows (0, 1, 2, ...)

# %% tags=["hide-input"]
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
#   and mouse (F6, {numref}`fig-f6-agreement`) is therefore an upper bound on how much the eyes
#   follow the cursor.

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
# its character offset, coloured by time ({numref}`fig-f1-paths`), and the same samples as position
# in the answer against time ({numref}`fig-f1-timeline`).

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
_ = ch.figure(fig, "f1-paths")

# %% [markdown]
# ```{glue:figure} fig.f1-paths
# :name: fig-f1-paths
#
# F1: the {glue:text}`behaviour.example.samples:,` on-answer samples of query
# {glue:text}`behaviour.example.query_id`, gaze (top row) and mouse (bottom row) on the left and
# right answer. The answer text (grey) is re-wrapped at 60 characters; each dot is one sample at the
# column and line of the character under it, coloured by seconds since the first on-answer sample
# (colour bar); the circle marks the first sample and the cross the last. Panel titles give n per
# pane. Compare how closely each stream follows the lines of text: webcam gaze errs by several
# lines, the mouse by none.
# ```

# %% tags=["hide-input"]
fig = figs.answer_timeline(path, qid)
_ = ch.figure(fig, "f1-timeline")

# %% [markdown]
# ```{glue:figure} fig.f1-timeline
# :name: fig-f1-timeline
#
# F1 as a timeline: position in the answer (% of its characters) of every gaze (blue) and mouse
# (vermillion) sample of query {glue:text}`behaviour.example.query_id` against seconds since the
# first on-answer sample, left and right answer; the legends give n. The title gives Pearson r
# between gaze and mouse positions averaged per second. Where the two point clouds run together,
# the reader moved the cursor along with the eyes.
# ```

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
# over workers ({numref}`fig-f2-mean-curves` by mode and pane, {numref}`fig-f3-mean-curves-tertile`
# by answer length).

# %% tags=["hide-input"]
fig = figs.mean_curves_by_side(curves, n_boot=n_boot, seed=seed)
ch.figure(fig, "f2-mean-curves")
for m in ("gaze", "mouse"):
    cm = curves.where(modality=m)
    mean, lo, hi = tr.mean_curve_ci(cm.curves, cm.meta["worker"], n_resamples=n_boot, random_state=seed)
    rec(f"behaviour/f2/{m}/mid_position", round(float(mean[49]), 3), ci=(round(float(lo[49]), 3), round(float(hi[49]), 3)),
        n=cm.meta["worker"].nunique())
    rec(f"behaviour/f2/{m}/end_position", round(float(mean[-1]), 3), ci=(round(float(lo[-1]), 3), round(float(hi[-1]), 3)),
        n=cm.meta["worker"].nunique())

# %% [markdown]
# ```{glue:figure} fig.f2-mean-curves
# :name: fig-f2-mean-curves
#
# F2: mean reading position (% of the answer's characters) against normalised time on the answer
# (0-100 % of the span between the first and last on-answer sample), gaze left and mouse right.
# Lines: all answers (black), pointwise answers (green), left (blue) and right (orange) pane of
# pairwise queries; bands: 95 % intervals from a bootstrap over workers; the legends give the
# curves and workers behind each line. A reader going steadily from top to bottom would follow the
# diagonal; the mean gaze ends at {glue:text}`behaviour.f2.gaze.end_position:.0%` instead.
# ```

# %% [markdown]
# Half-way through the time on an answer, the gaze is on average at
# {glue:text}`behaviour.f2.gaze.mid_position:.0%` of the text, and at the end of the span at
# {glue:text}`behaviour.f2.gaze.end_position:.0%` (mouse: {glue:text}`behaviour.f2.mouse.mid_position:.0%`
# and {glue:text}`behaviour.f2.mouse.end_position:.0%`). Reading runs top to bottom on average,
# but the mean curve is far from a straight line from 0 to 100 %: many people stop early, jump
# back, or finish early and look around.

# %% tags=["hide-input"]
fig = figs.mean_curves_by_tertile(curves, n_boot=n_boot, seed=seed)
ch.figure(fig, "f3-mean-curves-tertile")
for t in ("short", "medium", "long"):
    ct = curves.where(modality="gaze", tertile=t)
    est, lo, hi = tr.mean_curve_ci(ct.curves[:, -1:], ct.meta["worker"], n_resamples=n_boot, random_state=seed)
    rec(f"behaviour/f3/gaze/{t}/end_position", round(float(est[0]), 3), ci=(round(float(lo[0]), 3), round(float(hi[0]), 3)),
        n=ct.meta["worker"].nunique())
    rec(f"behaviour/f3/gaze/{t}/furthest_median", round(float(ct.meta["furthest"].median()), 3), n=len(ct))

# %% [markdown]
# ```{glue:figure} fig.f3-mean-curves-tertile
# :name: fig-f3-mean-curves-tertile
#
# F3: as {numref}`fig-f2-mean-curves`, split by answer-length tertile (short: sky blue, medium:
# blue, long: vermillion; gaze left, mouse right; bands: 95 % worker-bootstrap intervals; the
# legends give curves and workers). The curves separate by length: compare where each ends.
# ```

# %% [markdown]
# At the end of the looking span the gaze sits at {glue:text}`behaviour.f3.gaze.short.end_position:.0%`
# of short answers, {glue:text}`behaviour.f3.gaze.medium.end_position:.0%` of medium and
# {glue:text}`behaviour.f3.gaze.long.end_position:.0%` of long ones; the median furthest point
# reached is {glue:text}`behaviour.f3.gaze.short.furthest_median:.0%`,
# {glue:text}`behaviour.f3.gaze.medium.furthest_median:.0%` and
# {glue:text}`behaviour.f3.gaze.long.furthest_median:.0%`.
#
# ## F4 — where in the answer people look
#
# {numref}`fig-f4-histograms` pools the positions of all samples instead of following them in time.

# %% tags=["hide-input"]
fig = figs.position_histograms(curves)
ch.figure(fig, "f4-histograms")
g = curves.where(modality="gaze")
for t in ("short", "medium", "long"):
    rec(f"behaviour/f4/gaze/{t}/first_third_share", round(float(tr.mean_hist(g.where(tertile=t).hist)[:33].sum()), 3),
        n=len(g.where(tertile=t)))
_ = rec("behaviour/f4/gaze/last_bin_share", round(float(tr.mean_hist(g.hist)[-1]), 3), n=len(g))

# %% [markdown]
# ```{glue:figure} fig.f4-histograms
# :name: fig-f4-histograms
#
# F4: share of gaze samples (%) in each 1 % bin of position in the answer, averaged over answers
# with equal weight; left by mode and pane (green: pointwise, blue: pairwise left, orange: pairwise
# right), right by answer-length tertile; the legends give the number of answers. The mass leans to
# the top of the answer, more so on long answers, and the last bin spikes.
# ```

# %% [markdown]
# On long answers {glue:text}`behaviour.f4.gaze.long.first_third_share:.0%` of the gaze samples fall
# in the first third of the text (short answers: {glue:text}`behaviour.f4.gaze.short.first_third_share:.0%`).
# The spike in the last 1 % bin ({glue:text}`behaviour.f4.gaze.last_bin_share:.1%` of all gaze samples)
# is most likely an artefact of the recording: a point inside the pane but below the last line gets
# the caret offset of the end of the text.
# The heat map ({numref}`fig-f4-heatmap`) spreads the average histogram of the example's length
# tertile over the characters of the example pair (left and right panes averaged separately).

# %% tags=["hide-input"]
tert_left = str(curves.meta.loc[(curves.meta["query_id"] == qid) & (curves.meta["pane"] == 1), "tertile"].iloc[0])
pw = g.where(mode="pairwise", tertile=tert_left)
hists = {p: tr.mean_hist(pw.where(pane=p).hist) for p in (1, 2)}
lengths = {p: int(qrow[f"len_utf16_{p}"]) for p in (1, 2)}
fig = figs.character_heatmap(texts, lengths, hists, qid, tert_left)
_ = ch.figure(fig, "f4-heatmap")

# %% [markdown]
# ```{glue:figure} fig.f4-heatmap
# :name: fig-f4-heatmap
#
# F4 drawn over text: the average gaze-position histogram of the pairwise answers in the example's
# length tertile, spread over the characters of the two answers of query
# {glue:text}`behaviour.example.query_id` (text wrapped at 60 characters; lightly smoothed; colour:
# relative gaze density, darker = more, the densest character of the pair = 1). It shows where an
# average reader of such answers looks, not where this query's worker looked
# ({numref}`fig-f1-paths` shows that).
# ```

# %% [markdown]
# (sec-f5-clusters)=
# ## F5 — clusters of reading curves
#
# The release clusters the 100-point gaze curves of the pairwise **left** pane with bisecting
# k-means, k = {glue:text}`paper.behaviour.f5.k`. We fit exactly that, and beside it ask which k the data support: the silhouette
# (how well separated the clusters are) and the stability of the clusters when the curves are
# resampled (mean adjusted Rand index over bootstrap refits). The data-driven k is the best
# silhouette among the k whose stability reaches {glue:text}`behaviour.f5.stable_ari`
# ({numref}`fig-f5-k-selection`).

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
ch.figure(fig, "f5-k-selection")
ksel.round(3)

# %% [markdown]
# ```{glue:figure} fig.f5-k-selection
# :name: fig-f5-k-selection
#
# F5, choosing k: silhouette (blue circles) and stability (orange squares: mean adjusted Rand index
# of bootstrap refits against the full fit) of bisecting k-means on the
# {glue:text}`behaviour.f5.curves` left-pane gaze curves, for each number of clusters k. The dashed
# green line marks the data-driven k ({glue:text}`behaviour.f5.k_data`: best silhouette among the k
# with stability of at least {glue:text}`behaviour.f5.stable_ari`), the dotted grey line the paper's
# k. Higher is better on both scores.
# ```

# %% [markdown]
# On {glue:text}`behaviour.f5.curves` left-pane gaze curves, k = {glue:text}`paper.behaviour.f5.k` has silhouette
# {glue:text}`behaviour.f5.silhouette_k10:.2f` and stability {glue:text}`behaviour.f5.stability_k10:.2f`;
# the data-driven choice is k = {glue:text}`behaviour.f5.k_data` (silhouette
# {glue:text}`behaviour.f5.silhouette_kdata:.2f`, stability {glue:text}`behaviour.f5.stability_kdata:.2f`).
# The paper's {glue:text}`paper.behaviour.f5.k` clusters are kept below as the release drew them; read them with their silhouette
# and stability beside the data-driven k's ({numref}`fig-f5-clusters`, with the bisection tree in
# {numref}`fig-f5-tree`). Shape families are formed from their centres by Ward linkage (number of
# families by silhouette) — no hand-set overrides; each family is described by its mean position at
# mid-time and at the end.

# %% tags=["hide-input"]
families = clustering.shape_families(paper.centers)
names = [clustering.describe_family(paper.centers[families == f].mean(axis=0)) for f in range(families.max() + 1)]
rec("behaviour/f5/families", int(families.max() + 1))
examples = clustering.example_members(paper.labels, n=10, random_state=42)
fig = figs.cluster_centres(paper.centers, paper.sizes, families, names, examples, left.curves)
ch.figure(fig, "f5-clusters")
pd.DataFrame({"cluster": [f"C{i + 1}" for i in range(len(paper.sizes))], "curves": paper.sizes,
              "workers": [left.meta.loc[paper.labels == i, "worker"].nunique() for i in range(len(paper.sizes))],
              "family": families + 1, "mid position": paper.centers[:, 49], "end position": paper.centers[:, -1]})

# %% [markdown]
# ```{glue:figure} fig.f5-clusters
# :name: fig-f5-clusters
#
# F5, the paper's clusters: one panel per cluster of bisecting k-means with the paper's k on the
# left-pane gaze curves, position in the answer (%) against normalised time (%). Thick line: the
# cluster centre; thin lines: up to ten randomly drawn members; colour: the shape family of the
# centre ({glue:text}`behaviour.f5.families` families, named in the legend); panel titles give the
# curves per cluster. Compare the spread of the members with the differences between centres.
# ```

# %% tags=["hide-input"]
tree = clustering.bisection_tree(paper)
fig = figs.bisection_tree_plot(tree)
_ = ch.figure(fig, "f5-tree")

# %% [markdown]
# ```{glue:figure} fig.f5-tree
# :name: fig-f5-tree
#
# F5, the bisection tree: each dot is a node of bisecting k-means (dot area grows with the number
# of curves it holds), the vertical axis the depth of the split; the leaves carry the cluster names
# of {numref}`fig-f5-clusters` and their numbers of curves. The sizes at each split show whether
# the tree divides the curves evenly or peels small clusters off one large group.
# ```

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
# 100-point curves ({numref}`fig-f6-agreement`; per worker in {numref}`fig-f6-per-worker`). These are
# effect sizes only; p-values over interpolated, autocorrelated points would be meaningless.

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
ch.figure(fig, "f6-agreement")
r.groupby("side")[["pearson", "spearman"]].describe().round(3)

# %% [markdown]
# ```{glue:figure} fig.f6-agreement
# :name: fig-f6-agreement
#
# F6: correlation r between the gaze curve and the mouse curve of the same answer, over the
# {glue:text}`behaviour.f6.answers` answers with both. Left: counts of Pearson r (filled) and
# Spearman r (outline) in bins of 0.05; middle and right: densities of Pearson r by answer-length
# tertile and by mode and pane, with n and the median in the legends. The median Pearson r is
# {glue:text}`behaviour.f6.pearson_median:.2f`; the middle panel shows how the agreement depends on
# the length of the answer.
# ```

# %% tags=["hide-input"]
pw_agree = agreement.per_worker_agreement(r, min_answers=5, threshold=0.7)
rec("behaviour/f6/workers_with_cursor", int(pw_agree["with_cursor"].sum()), n=len(pw_agree))
rec("behaviour/f6/workers_rated", len(pw_agree))
fig = figs.per_worker_agreement_plot(pw_agree, 0.7)
_ = ch.figure(fig, "f6-per-worker")

# %% [markdown]
# ```{glue:figure} fig.f6-per-worker
# :name: fig-f6-per-worker
#
# F6 per worker: each bar is one of the {glue:text}`behaviour.f6.workers_rated` workers with at least
# five answers, its height the median Pearson r between gaze and mouse curves over its answers,
# sorted from highest. Green bars reach the dashed line at r = 0.7 ("reads with the cursor",
# {glue:text}`behaviour.f6.workers_with_cursor` workers), black bars do not.
# ```

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
# (sec-diversity)=
# ## Diversity between people
#
# Three per-answer measures from the gaze curves: the share of the query's samples on this answer
# (*in-pane share*), the *reading speed* (furthest character reached per second of capped dwell
# time) and the *depth* (furthest position reached). How much of their variance lies between
# workers? A random-intercept model (statsmodels, REML) gives the intraclass correlation (ICC), a
# one-way ANOVA the η² as a cross-check (speed on a log scale); both again without the five workers
# with the most curves. {numref}`fig-diversity-workers` shows the three measures for the workers
# with the most curves.

# %% tags=["hide-input"]
gm = curves.where(modality="gaze").meta
var = diversity.variance_between_workers(gm, leave_out_top=5)
for _, row in var.iterrows():
    sub = "all" if row["subset"] == "all workers" else "without_top5"
    rec(f"behaviour/diversity/{row['measure']}/icc_{sub}", round(float(row["icc"]), 3), n=int(row["workers"]))
fig = figs.worker_distributions(gm, diversity.MEASURES)
ch.figure(fig, "diversity-workers")
var.round(3)

# %% [markdown]
# ```{glue:figure} fig.diversity-workers
# :name: fig-diversity-workers
#
# Per-worker distributions of three measures of each answer's gaze curve, for the workers with the
# most gaze curves (W1 has the most; the number of curves is in brackets): in-pane share (share of
# the query's samples on this answer), reading speed (characters per second, log scale) and depth
# (furthest position reached, share of the answer). Boxes span the quartiles with the median
# inside; whiskers reach 1.5 times the interquartile range, outliers are not drawn. Boxes that sit
# at different places for different workers are what the ICC in the table measures.
# ```

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
# is also why every interval here resamples workers, and why {ref}`ch-reward` evaluates its models
# on folds grouped by worker.
#
# ## Reading events: what webcam gaze supports
#
# Fixations need a steady clock: gaze is resampled to a 20 Hz grid (no interpolation across gaps over
# 200 ms) and pymovements' I-DT finds fixations with a dispersion of at most 150 px and a minimum
# duration of 200 ms — thresholds sized for webcam noise, not for a lab tracker. Only page sessions
# with a median rate of at least {glue:text}`behaviour.events.min_rate_hz` Hz are used
# ({numref}`fig-event-support`); {numref}`fig-fixations` shows the durations of the fixations found.

# %% tags=["hide-input"]
fig = figs.rate_support(rates, events.MIN_RATE_HZ)
ch.figure(fig, "event-support")
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
_ = ch.figure(fig, "fixations")

# %% [markdown]
# ```{glue:figure} fig.event-support
# :name: fig-event-support
#
# Median sampling rate (Hz, 1 Hz bins, values above 40 Hz drawn at 40) of each page session (blue)
# and each query (orange) of the workers analysed, as densities; the legend gives n. The dashed line
# is the {glue:text}`behaviour.events.min_rate_hz` Hz minimum for fixation detection: sessions left
# of it are too slow for events and are not used ({glue:text}`behaviour.events.session_share:.0%` of
# the sessions reach the cut).
# ```
#
# ```{glue:figure} fig.fixations
# :name: fig-fixations
#
# Durations of the {glue:text}`behaviour.events.fixations:,` fixations that I-DT finds in the
# {glue:text}`behaviour.events.sessions_used` sessions processed (ms, 50 ms bins on the 20 Hz grid,
# durations above 3000 ms drawn at 3000; y: number of fixations). The median is
# {glue:text}`behaviour.events.median_duration_ms` ms; the long tail is most likely webcam noise
# merging neighbouring fixations.
# ```

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
