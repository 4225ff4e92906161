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
# (ch-own-recordings)=
# # Your own recordings
#
# The package reads any folder in the IFLLM layout, not only the published release: a new study
# run with the same website (`eye_gazing_LLM`) writes the same three tables and the same behaviour
# streams, and everything in this book (the repairs, the turn assignment, the per-query features)
# applies to it unchanged. This page says what such a folder must hold, documents every file
# format, walks through a small synthetic folder made by `ifl synth`, and lists the commands to run
# on your own folder.

# %% tags=["parameters"]
mode = "full"  # "quick" (CI) or "full" (the book); the page is the same in both
seed = 0  # seed of the synthetic release
data = None  # unused here: the page generates its own folder under results_dir
results_dir = "results"

# %% tags=["hide-input"]
import json
import os
import shutil
import subprocess
import sys

import pandas as pd
from IPython.display import Markdown, display

from ifl_utils import markdown as md
from ifl_utils.data import layout, schema
from ifl_utils.data.api import Dataset
from ifl_utils.data.synth import INJECTED_DEFECTS, SynthConfig, make_release
from ifl_utils.features import feature_groups, load_query_features
from ifl_utils.figures import recordings as figs
from ifl_utils.notebook import setup

ch = setup("07_own_recordings", mode=mode, seed=seed, results_dir=results_dir, data=data)
rec = ch.record
# everything this page writes lies here; paths are shown relative to it
work = ch.root / results_dir / "07_own_recordings"
pd.set_option("display.max_colwidth", None)

# %% [markdown]
# ## The layout a folder must have
#
# The loader looks for the three tables and `user_behavior/` in the folder itself, in its
# `dataset/` sub-folder, or one level further down (`<top>/dataset/`, as in GitHub's tarball of
# the study repository). An archive of any of these (`.tar.xz`, `.tar.gz`, `.zip`) works too: it
# is extracted once, safely, into the cache. Each conversation with behaviour data has one folder
# `user_behavior/<user_id>/<task_id>/`, holding six stream files in pairwise mode (two answers side
# by side) or four in pointwise mode (one answer). Every entry below is required.

# %% tags=["hide-input"]
frame = layout.layout_frame()
assert frame["required"].all()  # every entry is required: the column would say nothing
display(Markdown(md.table(frame.drop(columns="required"), code=["path"])))

# %% [markdown]
# Conversations without a folder, and folders without turns, are allowed (the release has both:
# defect 21 of the quality report); they simply get no behaviour features.
#
# ## File formats
#
# The tables below are rendered from `ifl_utils.data.schema`, the module the parser is checked
# against. Coordinates are CSS pixels, times milliseconds, character offsets UTF-16 code units (as
# the browser counts them).
#
# ### Behaviour streams
#
# At every WebGazer prediction (a *callback*, about every 75 ms) the page appends one line to each
# stream of the folder. `abs_*` streams hold viewport coordinates; `rel_*` streams hold the point
# relative to one answer pane and the text under it.

# %% tags=["hide-input"]
display(Markdown(md.table(schema.stream_kinds_frame(), code=["stream"])))

# %% [markdown]
# ### Columns of each file
#
# The tables have a header line; the reader picks their columns by name, so the order is free and
# extra columns are ignored. The behaviour files have **no header**: each line is the fields below,
# in this order, joined by `,` without escaping (a text window may itself contain commas and quotes;
# the parser splits from both ends). `rel_*` files come in two formats, told apart per file by the
# 0/1 `valid` field; a folder never mixes them.

# %% tags=["hide-input"]
for title, table in schema.format_tables().items():
    name, _, variant = title.partition(", ")
    display(Markdown(f"**`{name}`**" + (f" ({variant})" if variant else "")))
    display(Markdown(md.table(table, code=[table.columns[0]])))

# %% [markdown]
# What the loader makes of these files (the repaired, joined and assigned tables it returns) is
# documented the same way: `Dataset.samples()` has one row per callback with the columns below
# (`ifl_utils.data.schema.SAMPLE_COLUMNS`), and `Dataset.queries()` one row per turn
# (`ifl_utils.data.tables.QUERY_LOG_COLUMNS`).

# %% tags=["hide-input", "hide-output"]
display(Markdown(md.table(schema.as_frame(tuple(schema.SAMPLE_COLUMNS)), code=["name"])))

# %% [markdown]
# ## A worked example: a synthetic folder
#
# `ifl synth` (in Python `make_release`) writes a small folder the way the website does: the three
# tables, one pairwise and one pointwise conversation per worker, a callback about every 75 ms, a
# first batch with everything since page load and later batches of 100, the last partial batch
# lost, and readers who move down each answer. It also injects a few of the release's defects on
# purpose. The release below is made with this page's seed, so it is the same at every build.

# %% tags=["hide-input"]
if work.exists():
    shutil.rmtree(work)  # a fresh folder each run: the same files, and no stale outputs
# the parsed tables of this folder go to a cache inside it (removed with it at the next build),
# not to the user cache, where each build would leave a new entry
os.environ["IFLLM_CACHE"] = str(work / "cache")
config = SynthConfig(seed=seed)
release = make_release(work / "synthetic-release", config)
problems = layout.check_layout(release)
assert not problems, problems
files = sorted(p for p in release.rglob("*") if p.is_file())
rec("own/synth/workers", config.workers)
rec("own/synth/files", len(files))
rec("own/synth/folders", sum(1 for p in (release / "user_behavior").glob("*/*") if p.is_dir()))
print(layout.file_tree(release, max_workers=1))
print(f"\n{len(files)} files; layout check: {'no problems' if not problems else problems}")

# %% [markdown]
# {glue:text}`own.synth.workers` workers, {glue:text}`own.synth.folders` behaviour folders,
# {glue:text}`own.synth.files` files. `layout.check_layout(folder)` lists every way a folder departs
# from the layout (missing tables or header columns, stray files, a folder with neither stream set);
# it is empty here.
#
# ### Loading it
#
# `Dataset(folder, verify="none")` reads a folder that is not the published release: the manifest
# check (sizes and SHA-256 of every file of the published release) does not apply, and the parsed
# tables are cached under a hash of every file's path, size and bytes, so changing any byte of a
# file rebuilds them. The parser counts, per stream kind, what it read:

# %% tags=["hide-input"]
ds = Dataset(release, verify="none", progress=False)
counts = ds.counts()
inventory = layout.stream_inventory(counts, ds.folders())
rec("own/streams/kinds", int((inventory["files"] > 0).sum()))
rec("own/rel_files/6col", int(counts["rel_files_6col"]))
rec("own/rel_files/7col", int(counts["rel_files_7col"]))
rec("own/callbacks", int(counts["callbacks"]))
assert (inventory["files"] > 0).all(), "a stream kind is missing from the synthetic release"
assert counts["rel_files_6col"] > 0 and counts["rel_files_7col"] > 0, "both rel formats should be present"
inventory

# %% [markdown]
# All {glue:text}`own.streams.kinds` stream kinds are there, in both row formats
# ({glue:text}`own.rel_files.6col` rel files in the 6-column format,
# {glue:text}`own.rel_files.7col` in the 7-column one), {glue:text}`own.callbacks:,` callbacks in
# all. `lines` counts the lines as written, `rows` what is left after the repairs: pairwise
# `abs_gaze` files hold every batch twice, and the second copy is dropped.
#
# ### The quality report
#
# Every defect kind the parser knows ({glue:text}`own.defects.kinds`, numbered as in the data
# reference) is counted in every folder it reads. The table lists the kinds found here, beside what
# `ifl synth` injected on purpose; rows without an injection are what the website writes anyway (no
# header lines, doubled `abs_gaze` batches, no mouse position before the first move, the camera
# flag) or what the answer texts hold (commas, quotes, emoji).

# %% tags=["hide-input"]
report = ds.quality_report()
found = layout.found_defects(report, INJECTED_DEFECTS)
missed = found.loc[(found["expected"] != "") & (found["count"] == 0), "#"].tolist()
assert not missed, f"injected defects not detected: {missed}"
rec("own/defects/kinds", len(report))
rec("own/defects/found", int((report["count"] > 0).sum()))
rec("own/defects/injected", len(INJECTED_DEFECTS))
rec("own/defects/injected_detected", int(found.loc[found["expected"] != "", "count"].gt(0).sum()))
found.set_index("#")

# %% [markdown]
# All {glue:text}`own.defects.injected_detected` of the {glue:text}`own.defects.injected` injected
# defect kinds are detected and repaired; {glue:text}`own.defects.found` of the
# {glue:text}`own.defects.kinds` kinds occur in this folder. A defect the parser does not know stops
# the load with an error naming the file, the line and what was expected: nothing is dropped
# silently.
#
# ### The tidy tables
#
# `queries()` has one row per turn with the labels and the number of callbacks assigned to it by
# the time rule; `samples()` one row per callback (here five samples on the answer's text, from the
# middle of one query; `valid` is missing because this folder is in the 6-column format).

# %% tags=["hide-input"]
queries = ds.queries()
rec("own/queries", len(queries))
queries[["query_id", "worker", "task_id", "turn", "mode", "model_1", "model_2", "likert_1", "likert_2",
         "right_preferred", "better_than_previous", "shifted", "unrated", "callbacks"]].head(6)

# %% tags=["hide-input"]
example = queries.loc[queries["mode"] == "pointwise"].iloc[0]
qid = int(example["query_id"])
samples = ds.samples(columns=figs.TRACE_COLUMNS + ["worker", "task_id", "session", "turn", "page_time",
                                                   "valid", "gaze1_char", "gaze1_window"])
show = ["worker", "task_id", "session", "query_id", "turn", "page_time", "epoch", "gaze_x", "gaze_y",
        "mouse_x", "mouse_y", "valid", "gaze1_char", "gaze1_window", "gaze1_pos"]
on_answer = samples.loc[(samples["query_id"] == qid) & samples["gaze1_char"].notna(), show]
on_answer.iloc[len(on_answer) // 2:][:5].round(2)  # five samples from the middle of the query

# %% [markdown]
# ### One query, drawn
#
# {numref}`fig-query-traces` shows the first pointwise query of the synthetic folder: where gaze and
# mouse were on the screen, and where on the answer's text they were as time passed.

# %% tags=["hide-input"]
rec("own/example/query_id", qid)
rec("own/example/callbacks", int(example["callbacks"]))
fig = figs.query_traces(samples, qid, float(example["display_ms"]))
ch.figure(fig, "query-traces")

# %% [markdown]
# ```{glue:figure} fig.query-traces
# :name: fig-query-traces
#
# One synthetic query. Left: viewport positions (px) of its {glue:text}`own.example.callbacks`
# callbacks, gaze and mouse (the generator places them as noise around the middle of the screen;
# real webcam gaze scatters even more). Right: position in the answer (character offset over the
# answer's length, 0-1) of the samples on its text against seconds since the answer appeared; the
# synthetic reader scans the answer once from top to bottom.
# ```
#
# The few points of the first two seconds lie on the placeholder text: the generator puts the
# answer on screen up to a second later than the time rule assumes, so a few placeholder samples
# are given to the query. The dataset chapter's text check finds such samples at turn boundaries
# in the release too, and counts them.
#
# ### The per-query feature table
#
# The features of the reward-model chapter are computed from each query's own samples only: gaze
# and mouse per pane, their agreement, and text features of the answers.

# %% tags=["hide-input"]
features = load_query_features(ds)
assert len(features) == len(queries) and features["query_id"].is_unique
rec("own/features/rows", int(features.shape[0]))
rec("own/features/columns", int(features.shape[1] - 1))
groups = pd.Series(feature_groups([c for c in features.columns if c != "query_id"])).value_counts()
print(f"feature table: {features.shape[0]} rows (one per query) x {features.shape[1] - 1} features "
      f"+ query_id")
print("features per group: " + ", ".join(f"{g} {n}" for g, n in groups.sort_index().items()))
features.iloc[:5, :10].round(3)

# %% [markdown]
# {glue:text}`own.features.rows` rows, one per query of the folder, and
# {glue:text}`own.features.columns` features; the feature dictionary of the reward-model chapter
# (`ifl_utils.features.feature_dictionary()`) defines each column with its unit.
#
# ## On your own folder
#
# `ifl data verify` is for the **published release** only: it checks every file against the
# shipped manifest and fails on anything else, a new study included. For your own recordings:
#
# ```bash
# ifl data summary --json --unverified --data DIR    # counts and the quality report as JSON
# ifl features --data DIR --out features.parquet     # the per-query feature table (.parquet or .csv)
# ```
#
# `DIR` is the folder or an archive of it. `ifl features` checks the manifest by default
# (`--verify auto`) and, when the folder is not the published release, says so on stderr and reads
# it unverified; `--verify none` skips the check. Beside the feature table it writes the quality
# report as `<name>.quality.csv` (here `features.quality.csv`), and it prints a JSON summary on
# stdout. Run here on the synthetic folder (in the folder that holds it):

# %% tags=["hide-input"]
proc = subprocess.run([sys.executable, "-m", "ifl_utils.cli", "features", "--data", "synthetic-release",
                       "--out", "features.parquet", "--verify", "none"],
                      cwd=work, capture_output=True, text=True)
assert proc.returncode == 0, proc.stderr
out = json.loads(proc.stdout)
print("$ ifl features --data synthetic-release --out features.parquet --verify none")
print(json.dumps({k: v for k, v in out.items() if k != "quality"}, indent=2, sort_keys=True))
print(f'  "quality": {{{len(out["quality"])} defect kinds -> count}}')

# %% [markdown]
# In pandas:
#
# ```python
# import pandas as pd
#
# features = pd.read_parquet("features.parquet")        # one row per query; key query_id
# quality = pd.read_csv("features.quality.csv")         # one row per defect kind: #, defect, count, ...
# ```
#
# Join `features` to the labels on `query_id` (`Dataset(DIR, verify="none").queries()`). The
# quality report's `reference` and `matches` columns compare with the published release's counts and
# do not apply to another folder.

# %% tags=["hide-input"]
from_cli = pd.read_parquet(work / "features.parquet")
quality = pd.read_csv(work / "features.quality.csv")
pd.testing.assert_frame_equal(from_cli, features)
assert quality.set_index("#")["count"].equals(report.set_index("#")["count"])
print(f"features.parquet: {from_cli.shape[0]} rows x {from_cli.shape[1]} columns, identical to the "
      "table computed above")
print(f"features.quality.csv: {len(quality)} defect kinds, {int((quality['count'] > 0).sum())} found")

# %% [markdown]
# The same entry points in Python:
#
# ```python
# from ifl_utils.data.api import Dataset
# from ifl_utils.data.layout import check_layout
# from ifl_utils.features import load_query_features
#
# check_layout("DIR")                              # [] when the folder has the layout
# ds = Dataset("DIR", verify="none")               # your own recordings: no manifest check
# queries, report = ds.queries(), ds.quality_report()
# features = load_query_features(ds)
# ```
#
# Two things of the book do not carry over to a new study: the paper's exclusion list
# (`exclude="paper"`) names workers of the published release, so use `exclude="quality"` (the
# book's documented rule) or none; and the release's reference counts in the quality report.
