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
# (ch-benchmarks)=
# # Benchmarks
#
# How fast the book's stages run, against the targets the project set itself. Each benchmark is a
# script in `benchmarks/` that prints one JSON object; `ifl bench NAME --save` also writes it to
# `benchmarks/records/NAME.json` with the time of the measurement, the git commit it ran on and a
# description of the machine. This page only **reads** those files: the benchmarks take minutes and
# are not rerun when the book is built, so each figure below says when and on which commit it was
# measured. A benchmark without a saved result is listed as "not measured".

# %% tags=["parameters"]
mode = "full"  # "quick" (CI) or "full" (the book); the page reads saved results either way
seed = 0
data = None  # unused here: the page reads benchmarks/records/*.json, not the release
results_dir = "results"

# %% tags=["hide-input"]
import pandas as pd

from ifl_utils import benchmarks_report as br
from ifl_utils.notebook import setup

ch = setup("08_benchmarks", mode=mode, seed=seed, results_dir=results_dir, data=data)
bench = br.load_results(ch.root / br.RESULTS_DIR)
checks = br.target_checks(bench)
code_now = br.code_hash(ch.root)
fresh = {n: br.freshness(r.data.get("git_commit"), ch.root, r.data.get("code_hash"), code_now)
         for n, r in bench.items() if r.ok}
ch.record("benchmarks/total", len(bench))
ch.record("benchmarks/measured", sum(r.ok for r in bench.values()))
ch.record("benchmarks/meet_all_targets",
          sum(bool(checks.loc[checks["benchmark"] == n, "meets"].all()) for n, r in bench.items() if r.ok))
ch.record("benchmarks/targets", len(checks))
ch.record("benchmarks/targets_met", int(checks["meets"].sum()))
ch.record("benchmarks/same_code", sum(f["code_changed"] is False for f in fresh.values()))
pd.set_option("display.max_colwidth", None)
pd.DataFrame({"what it measures": [br.MEASURES[n] for n in bench],
              "targets": ["; ".join(f"{br.label(k)} ≤ {br.fmt(t, k)}" for k, t in r.data["targets"].items())
                          if r.ok else r.status for r in bench.values()]},
             index=pd.Index(list(bench), name="benchmark"))

# %% [markdown]
# A target is the largest acceptable value of one figure (seconds, or MB of peak memory, or the
# ratio of our cold ingest to a naive `pandas.read_csv` pass over the same files). Timings are
# medians over repeated runs (`--repeat`, 3 by default) on warm operating-system file caches;
# the scripts' docstrings give the details.
#
# ## Results
#
# {glue:text}`benchmarks.measured` of the {glue:text}`benchmarks.total` benchmarks have a saved
# result; {glue:text}`benchmarks.meet_all_targets` of them meet all their targets
# ({glue:text}`benchmarks.targets_met` of {glue:text}`benchmarks.targets` targeted figures).
# "Relative to HEAD" compares the commit a result was measured on with the commit this page was
# built from (a result is usually measured on the commit before the one that saves it), and the
# code the benchmark ran, uncommitted edits included (`ifl_utils/`, `benchmarks/`, the
# requirements; a fingerprint saved with the result), with the code of this build.
# {glue:text}`benchmarks.same_code` of the {glue:text}`benchmarks.measured` measured results ran on
# the same code as this build; a result on other code is still a fair guide when the change did not
# touch the stage it measures, but should be rerun before it is quoted.

# %% tags=["hide-input"]
br.summary_table(bench, ch.root)

# %% tags=["hide-input"]
fig = br.ratio_figure(bench)
ch.figure(fig, "benchmarks-targets")

# %% [markdown]
# ```{glue:figure} fig.benchmarks-targets
# :name: fig-benchmarks-targets
#
# Every targeted figure as a fraction of its target (log scale). Bars left of the dashed line
# (green) meet their target, bars right of it (vermillion) miss it; the label beside each bar gives
# the measured value and the target. A benchmark without a saved result has an empty row.
# ```
#
# ### What the data layer's self-checks cost
#
# Every load checks the Parquet cache against the sizes, content digests and row counts recorded
# when it was built (a damaged or swapped file is rebuilt, never read), and a folder that is not the
# published release is keyed by a hash of every file's bytes. From the ingest record:

# %% tags=["hide-input"]
br.integrity_table(bench)

# %% [markdown]
# ## The machine
#
# Where each result was measured, as recorded by `ifl bench --save` (results saved without it
# record only the CPU count and the Python version). Timings from different machines are not
# comparable; the book's reference machine has 2 CPU cores.

# %% tags=["hide-input"]
machines = br.machine_table(bench)
print("all results from the same machine" if br.same_machine(bench) else
      "the results come from different machines: compare them column by column")
machines

# %% [markdown]
# ## Rerunning a benchmark
#
# Each command runs one benchmark on the release named by `IFLLM_DATA` (or `--data`), prints its
# JSON and, with `--save`, replaces its file in `benchmarks/records/`; commit that file to update
# this page. `make bench` runs all of them in turn (`ifl bench all --save`). Keep the machine
# otherwise idle while measuring, with `OMP_WAIT_POLICY=PASSIVE` set (the Makefile sets it), since
# spinning OpenMP threads make timings on 2 cores swing widely.

# %% tags=["hide-input"]
pd.DataFrame({"command": [br.rerun_command(n) for n in bench] + [br.ALL_COMMAND],
              "results file": [br.result_path(n, br.RESULTS_DIR).as_posix() for n in bench]
              + ["all of the above"]},
             index=pd.Index([*bench, "all"], name="benchmark"))
