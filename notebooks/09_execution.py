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
# (ch-execution)=
# # Execution report
#
# When, on what and how fast each chapter of this build was executed. The runner (`ifl run`, which
# `make book` and `make test` call) measures every chapter it executes and writes one record per
# chapter and mode to `results/execution/<mode>/<chapter>.json`; this page only reads those files
# and the clean-clone timing of `make test` saved in `benchmarks/records/ci.json`. A chapter rerun
# on its own (`ifl run --only 02`) replaces its own record only, so the rows below may come from
# different runs: each row says when and on which commit it ran. `make test` runs the quick-mode
# chapters while the unit tests run beside them (two processes on the machine's cores), so quick-mode
# records written by `make test` are slower than a chapter run on its own.
#
# Downloads: {download}`executed notebook <09_execution.ipynb>` · source: `notebooks/09_execution.py`

# %% tags=["parameters"]
mode = "full"  # "quick" (CI) or "full" (the book): which mode's records the page shows first
seed = 0
data = None  # unused here: the page reads the runner's records, not the release
results_dir = "results"

# %% tags=["hide-input"]
from IPython.display import Markdown, display

from ifl_utils import ci_time, execution
from ifl_utils import execution_report as er
from ifl_utils import markdown as md
from ifl_utils.notebook import setup
from ifl_utils.runner import chapters

ch = setup("09_execution", mode=mode, seed=seed, results_dir=results_dir, data=data)
names = [p.stem for p in chapters(ch.root) if p.stem != ch.name]   # this page reports the others
records = {n: r for n, r in execution.load_records(ch.root / results_dir, ch.mode).items() if n in names}
other_mode = "full" if ch.quick else "quick"
other = {n: r for n, r in execution.load_records(ch.root / results_dir, other_mode).items() if n in names}
total = er.totals(records)
last = er.latest(records) or {}
commit_now = last.get("commit")   # the commit of the latest run (this page reads records only)
ch.record("execution/chapters", len(names))
ch.record("execution/chapters_run", total["chapters"])
ch.record("execution/total_wall_min", round(total["wall_s"] / 60, 1))
ch.record("execution/max_peak_gb", round(total["max_peak_mb"] / 1024, 1) if total["max_peak_mb"] else None)
ch.record("execution/same_commit", sum(r.get("commit") == commit_now for r in records.values()
                                       if "error" not in r))
ci = ci_time.load(ch.root)

# %% [markdown]
# ## This build
#
# {glue:text}`execution.chapters_run` of the {glue:text}`execution.chapters` chapters have a record
# in this build's mode; together they took {glue:text}`execution.total_wall_min` minutes of wall
# time, and the largest kernel held {glue:text}`execution.max_peak_gb` GB at its peak.
# {glue:text}`execution.same_commit` of them ran on the commit of the latest run (named above the
# table; `+dirty`: with uncommitted changes).

# %% tags=["hide-input"]
same = er.shared(records)
display(Markdown(f"mode: {ch.mode} · latest run: {last.get('chapter', 'none')}, "
                 f"{er.fmt_when(last.get('executed_at'))}"
                 + ("" if "commit" in same else f", commit `{commit_now or 'unknown'}`")
                 + "".join(f" · {k} `{v}` for every chapter" for k, v in same.items())))
display(Markdown(md.table(er.chapter_table(records, names, drop_shared=True), index=True)))

# %% [markdown]
# How each column is measured:
#
# - **executed at**: when the runner started the chapter's kernel (UTC); **wall time**: from the
#   kernel's start to its shutdown, as papermill executed the chapter.
# - **peak memory**: the kernel process's peak resident memory (Linux's `VmHWM`, read after every
#   cell while the kernel runs; it never decreases, so the last read is the true peak).
# - **cache** (three states, in this order): for the data cache (the verified, extracted and parsed release), the sentence
#   embeddings, the model fits (fine-tuned cross-encoder fold scores, the reward chapter's
#   analysis-space cells, the validity models) and the DPO runs, in the user cache folder: **cold**
#   when the chapter created an entry
#   that did not exist before it ran (it computed it; the count says how many), **warm** when it read
#   existing entries and created none, **unused** when it did neither. Reads are seen by an audit
#   hook that `setup()` installs in the runner's kernels.
# - **seed**, **commit**: the seed passed to the chapter, and the git commit of the code
#   (`+dirty`: with uncommitted changes); stated once above the table when every chapter shares it.
#
# ## Software and machine
#
# The versions of the packages that change the results, and the machine, for each distinct
# environment the chapters above ran in.

# %% tags=["hide-input"]
display(Markdown(md.table(er.environment_table(records), index=True)))

# %% [markdown]
# ## The other mode
#
# The latest run of each chapter in the other mode, when there is one (quick mode is what
# `make test` and CI run; full mode is what `make book` runs).

# %% tags=["hide-input"]
if other:
    display(Markdown(f"{other_mode} mode: {len(other)} chapters, "
                     f"{er.fmt_seconds(er.totals(other)['wall_s'])} of wall time in all"))
    display(Markdown(md.table(er.chapter_table(other, names, drop_shared=True), index=True)
                     + "".join(f"\n{k} `{v}` for every chapter above." for k, v in er.shared(other).items())))
else:
    display(Markdown(f"No chapter has been run in {other_mode} mode in this folder."))

# %% [markdown]
# ## `make test` on a clean clone
#
# How long CI takes: `make test` on a fresh clone of the repository with an empty pip cache (the
# virtual environment is built from the package index), measured step by step by
# `python scripts/time_clean_ci.py`, which saves `benchmarks/records/ci.json`. It is measured when
# that script is run, not at every build: the line above the table says on which commit. The first
# step runs the unit tests and the quick-mode chapters side by side (`python -m ifl_utils.together`);
# the rows "of which, side by side" give each of the two on its own, and their times overlap.

# %% tags=["hide-input"]
if ci is None:
    display(Markdown("Not measured yet: run `python scripts/time_clean_ci.py` and commit "
                     f"`{ci_time.RECORD.as_posix()}`."))
else:
    same = ("the commit of the latest run" if ci.get("commit") == (commit_now or "").split("+")[0]
            else f"latest run: `{commit_now}`")
    display(Markdown(f"measured {er.fmt_when(ci.get('measured_at'))} on commit `{ci.get('commit')}` "
                     f"({same}); started empty: {', '.join(ci.get('clean', []))}; "
                     f"exit status {ci.get('returncode')}"))
    display(Markdown(md.table(er.ci_table(ci), index=True)))
