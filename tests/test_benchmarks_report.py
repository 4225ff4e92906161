"""Benchmark results: saving (``ifl bench --save``), loading, target checks, freshness, the page's
table and figure. Fixtures are small JSON files written here."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import types
from pathlib import Path

import matplotlib
import pytest

from ifl_utils import benchmarks_report as br
from ifl_utils import cli
from ifl_utils.plots import check_labelled

matplotlib.use("Agg")

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _write(folder: Path, name: str, obj) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj), encoding="utf-8")
    return path


FEATURES = {"benchmark": "features", "seconds": 0.8, "targets": {"seconds": 5.0}, "repeat": 3,
            "measured_at": "2026-05-01T12:00:00Z", "git_commit": "abc1234",
            "machine": {"cpus": 2, "python": "3.11.7", "cpu_model": "Test CPU", "memory_gb": 8.0,
                        "packages": {"numpy": "2.0.0", "torch": None}}}
DPO_MISSED = {"benchmark": "dpo", "dpo_step_s": 6.4, "peak_rss_mb": 7000.0, "targets": {"peak_rss_mb": 6144},
              "measured_at": "2026-05-01T13:00:00Z", "git_commit": "abc1234+dirty",
              "machine": {"cpus": 2, "python": "3.11.7", "torch": "2.3.0"}}


@pytest.fixture()
def results_dir(tmp_path) -> Path:
    d = tmp_path / "results"
    _write(d, "features", FEATURES)
    _write(d, "dpo", DPO_MISSED)
    _write(d, "reward", "{not json")
    # behaviour and ingest: no file
    return d


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args], cwd=repo,
                          check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture()
def repo(tmp_path) -> Path:
    """A git repository with one committed file under ifl_utils/."""
    r = tmp_path / "repo"
    (r / "ifl_utils").mkdir(parents=True)
    (r / "ifl_utils" / "a.py").write_text("x = 1\n")
    _git(r, "init", "-q")
    _git(r, "add", ".")
    _git(r, "commit", "-q", "-m", "one")
    return r


# --------------------------------------------------------------------------- loading


def test_load_results_reports_missing_and_unreadable(results_dir):
    res = br.load_results(results_dir)
    assert list(res) == list(br.BENCHMARKS)
    assert res["features"].ok and res["dpo"].ok
    assert res["ingest"].status == br.MISSING and res["behaviour"].status == br.MISSING
    assert res["reward"].status == br.INVALID and res["reward"].error


@pytest.mark.parametrize("data, match", [
    ([1, 2], "JSON object"),
    ({"benchmark": "dpo", "targets": {"seconds": 1}}, "for benchmark 'dpo'"),
    ({"benchmark": "features", "seconds": 1.0}, "targets"),
    ({"benchmark": "features", "targets": {"seconds": "fast"}, "seconds": 1.0}, "not a number"),
    ({"benchmark": "features", "targets": {"seconds": 5.0}}, "missing"),
    ({"benchmark": "features", "targets": {"seconds": 5.0}, "seconds": None}, "missing"),
])
def test_validate_result_rejects(data, match):
    with pytest.raises(br.BenchmarkResultError, match=match):
        br.validate_result(data, "features")


def test_target_checks_flags_a_missed_target(results_dir):
    c = br.target_checks(br.load_results(results_dir)).set_index("benchmark")
    assert set(c.index) == {"features", "dpo"}
    assert bool(c.loc["features", "meets"]) and c.loc["features", "ratio"] == pytest.approx(0.16)
    assert not bool(c.loc["dpo", "meets"]) and c.loc["dpo", "ratio"] == pytest.approx(7000 / 6144)


def test_target_checks_of_nothing_is_an_empty_table(tmp_path):
    c = br.target_checks(br.load_results(tmp_path / "none"))
    assert c.empty and "meets" in c.columns


# --------------------------------------------------------------------------- the page's table


def test_summary_table_says_not_measured_and_names_the_missed_target(results_dir, tmp_path):
    t = br.summary_table(br.load_results(results_dir), tmp_path)
    assert list(t.index) == list(br.BENCHMARKS)
    assert t.loc["ingest", "meets target"] == "not measured"
    assert t.loc["behaviour", "key figures"] == "—"
    assert t.loc["reward", "meets target"].startswith("unreadable: ")
    assert t.loc["features", "meets target"] == "yes"
    assert t.loc["features", "key figures"] == "all features 0.80 s"
    assert t.loc["features", "target"] == "all features ≤ 5.00 s"
    assert t.loc["features", "measured at"] == "2026-05-01 12:00 UTC"
    assert t.loc["dpo", "meets target"] == "no: peak memory"
    assert t.loc["dpo", "commit"] == "abc1234+dirty"
    assert "peak memory 7000 MB" in t.loc["dpo", "key figures"]
    # tmp_path is not a git checkout: the page says so instead of failing
    assert "no git history" in t.loc["dpo", "relative to HEAD"]


def test_machine_table_and_same_machine(results_dir):
    res = br.load_results(results_dir)
    m = br.machine_table(res)
    assert list(m.columns) == ["features", "dpo"]
    assert m.loc["cpu_model", "features"] == "Test CPU" and m.loc["cpu_model", "dpo"] == "—"
    assert m.loc["torch", "dpo"] == "2.3.0" and m.loc["numpy", "features"] == "2.0.0"
    assert "pyarrow" not in m.index  # recorded by none: the row is dropped
    assert not br.same_machine(res)
    assert br.same_machine({"features": res["features"]})


def test_machine_table_merges_identical_machines(tmp_path):
    d = tmp_path / "r"
    _write(d, "features", FEATURES)
    _write(d, "behaviour", dict(FEATURES, benchmark="behaviour", targets={"x_s": 1.0}, x_s=0.5))
    m = br.machine_table(br.load_results(d))
    assert list(m.columns) == ["behaviour, features"]
    assert m.loc["cpu_model", "behaviour, features"] == "Test CPU"


def test_fmt_and_units():
    assert br.fmt(0.8123, "seconds") == "0.81 s"
    assert br.fmt(12.34, "grouped_protocol_s") == "12.3 s"
    assert br.fmt(5229.1, "peak_rss_mb") == "5229 MB"
    assert br.fmt(1.5, "cold_over_floor") == "1.50×"
    assert br.fmt(40.3, "generation_tokens_per_s") == "40.3 tokens/s"
    assert br.fmt(None, "seconds") == "—"
    assert br.rerun_command("reward") == "ifl bench reward --repeat 3 --save"


def test_ratio_figure_is_labelled_and_has_a_row_per_target_or_benchmark(results_dir):
    import matplotlib.pyplot as plt

    fig = br.ratio_figure(br.load_results(results_dir))
    try:
        check_labelled(fig)
        ax = fig.axes[0]
        ticks = [t.get_text() for t in ax.get_yticklabels()]
        assert ticks == ["ingest", "behaviour", "features: all features", "reward", "dpo: peak memory"]
        texts = [t.get_text() for t in ax.texts]
        assert "not measured" in texts and "unreadable" in texts
        assert ax.get_xscale() == "log"
    finally:
        plt.close(fig)


# --------------------------------------------------------------------------- git: commit and freshness


@needs_git
def test_git_commit_dirty_but_not_for_saved_results(repo):
    head = _git(repo, "rev-parse", "--short", "HEAD")
    assert br.git_commit(repo) == head
    (repo / "benchmarks" / "records").mkdir(parents=True)
    (repo / "benchmarks" / "records" / "features.json").write_text("{}")
    assert br.git_commit(repo) == head  # a saved result does not make the tree dirty
    (repo / "ifl_utils" / "a.py").write_text("x = 2\n")
    assert br.git_commit(repo) == head + "+dirty"


def test_git_commit_outside_a_checkout_is_none(tmp_path):
    assert br.git_commit(tmp_path) is None


@needs_git
def test_freshness_counts_commits_and_code_changes(repo):
    first = _git(repo, "rev-parse", "--short", "HEAD")
    f = br.freshness(first + "+dirty", repo)
    assert f["commits_behind"] == 0 and f["dirty"]
    assert f["text"] == "at HEAD (measured with uncommitted changes)"
    (repo / "README.md").write_text("docs\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "docs only")
    f = br.freshness(first, repo)
    assert f["commits_behind"] == 1 and f["code_changed"] is False
    assert f["text"] == "1 commit before HEAD; code unchanged since"
    (repo / "ifl_utils" / "a.py").write_text("x = 3\n")
    _git(repo, "commit", "-q", "-am", "code")
    f = br.freshness(first, repo)
    assert f["text"] == "2 commits before HEAD; code changed since"
    assert "not in this checkout" in br.freshness("0000000", repo)["text"]
    assert br.freshness(None, repo)["text"] == "commit not recorded"


@needs_git
def test_freshness_by_code_fingerprint_sees_through_a_dirty_measurement(repo):
    """Measured on commit A plus the edit that commit B then records: same code as B."""
    first = _git(repo, "rev-parse", "--short", "HEAD")
    (repo / "ifl_utils" / "a.py").write_text("x = 2\n")
    measured = br.code_hash(repo)
    commit = br.git_commit(repo)
    assert commit == first + "+dirty"
    _git(repo, "commit", "-q", "-am", "the measured change")
    f = br.freshness(commit, repo, measured)
    assert f["commits_behind"] == 1 and f["code_changed"] is False
    assert f["text"] == "1 commit before HEAD; same code as this build"
    (repo / "ifl_utils" / "a.py").write_text("x = 3\n")
    f = br.freshness(commit, repo, measured)
    assert f["code_changed"] is True and f["text"] == "1 commit before HEAD; code differs from this build"


def test_code_hash_follows_code_not_results(tmp_path):
    (tmp_path / "ifl_utils").mkdir()
    (tmp_path / "ifl_utils" / "a.py").write_text("x = 1\n")
    h = br.code_hash(tmp_path)
    _write(tmp_path / "benchmarks" / "records", "features", FEATURES)
    (tmp_path / "ifl_utils" / "__pycache__").mkdir()
    (tmp_path / "ifl_utils" / "__pycache__" / "a.pyc").write_bytes(b"junk")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text("pass\n")
    assert br.code_hash(tmp_path) == h
    (tmp_path / "requirements.txt").write_text("numpy==2\n")
    h2 = br.code_hash(tmp_path)
    assert h2 != h
    (tmp_path / "benchmarks" / "bench_x.py").write_text("pass\n")
    assert br.code_hash(tmp_path) != h2
    # no git here: the fingerprint alone still answers
    f = br.freshness("abc1234", tmp_path, br.code_hash(tmp_path))
    assert f["code_changed"] is False and f["text"].endswith("; same code as this build")


# --------------------------------------------------------------------------- saving


def test_save_result_adds_time_commit_and_machine(tmp_path):
    out = tmp_path / "bench"
    path = br.save_result({"benchmark": "features", "seconds": 1.0, "targets": {"seconds": 5.0},
                           "machine": {"cpus": 2, "omp_wait_policy": "PASSIVE"}}, out, "abc1234+dirty",
                          measured_at="2026-05-01T12:00:00Z", machine={"cpus": 2, "cpu_model": "X"},
                          code="0123456789abcdef")
    assert path == out / "features.json"
    saved = json.loads(path.read_text())
    assert saved["measured_at"] == "2026-05-01T12:00:00Z" and saved["git_commit"] == "abc1234+dirty"
    assert saved["code_hash"] == "0123456789abcdef"
    assert saved["machine"] == {"cpus": 2, "cpu_model": "X", "omp_wait_policy": "PASSIVE"}
    assert [p.name for p in out.iterdir()] == ["features.json"]  # no temporary file left behind
    assert br.load_result(path, "features").ok
    with pytest.raises(br.BenchmarkResultError):
        br.save_result({"seconds": 1.0}, out, None)


def test_machine_description_and_time():
    m = br.machine_description()
    for key in ("cpu_model", "cpus", "memory_gb", "platform", "python", "packages"):
        assert key in m
    assert set(m["packages"]) == set(br.PACKAGES) and m["packages"]["numpy"]
    assert m["cpus"] >= 1
    assert br.utc_now().endswith("Z") and "T" in br.utc_now()


# --------------------------------------------------------------------------- the command


@pytest.fixture()
def fake_benchmarks(monkeypatch):
    """Replace every benchmark module by one returning a tiny result (``main`` records its calls)."""
    calls = []
    import benchmarks  # noqa: F401 - the real package, so that the submodules resolve under it

    for name in br.BENCHMARKS:
        mod = types.ModuleType(f"benchmarks.bench_{name}")

        def main(data=None, repeat=3, _name=name):
            calls.append((_name, repeat))
            return {"benchmark": _name, "seconds": 0.5, "targets": {"seconds": 1.0}, "repeat": repeat,
                    "machine": {"cpus": 1}}

        mod.main = main
        monkeypatch.setitem(sys.modules, f"benchmarks.bench_{name}", mod)
    return calls


def test_bench_save_writes_the_result(tmp_path, fake_benchmarks, capsys):
    assert cli.main(["bench", "reward", "--repeat", "2", "--save", "--results-dir", str(tmp_path)]) == 0
    printed = json.loads(capsys.readouterr().out)
    saved = json.loads((tmp_path / "reward.json").read_text())
    assert printed == saved
    assert fake_benchmarks == [("reward", 2)]
    assert saved["repeat"] == 2 and "measured_at" in saved and "git_commit" in saved
    assert len(saved["code_hash"]) == 16
    assert saved["machine"]["cpus"] == br.machine_description()["cpus"] and "packages" in saved["machine"]


def test_bench_without_save_writes_nothing(tmp_path, fake_benchmarks, capsys):
    assert cli.main(["bench", "features", "--results-dir", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out)["benchmark"] == "features"
    assert not any(tmp_path.iterdir())


def test_bench_all_runs_every_benchmark_in_order(tmp_path, fake_benchmarks, capsys):
    assert cli.main(["bench", "all", "--save", "--results-dir", str(tmp_path)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [n for n, _ in fake_benchmarks] == list(br.BENCHMARKS)
    assert set(printed) == set(br.BENCHMARKS)
    assert sorted(p.stem for p in tmp_path.glob("*.json")) == sorted(br.BENCHMARKS)
    saved = [json.loads(p.read_text()) for p in tmp_path.glob("*.json")]
    assert len({(s["git_commit"], s["code_hash"]) for s in saved}) == 1  # one commit for the whole run


def test_bench_rejects_an_unknown_name(capsys):
    with pytest.raises(SystemExit):
        cli.main(["bench", "nope"])
    assert "reward" in capsys.readouterr().err


def test_integrity_table_reads_the_ingest_record():
    from ifl_utils import benchmarks_report as br

    data = {"warm_load_s": 0.25, "cold_ingest_s": 3.0, "integrity_check_s": 0.05,
            "integrity_record_s": 0.06, "content_key_release_s": 0.3}
    ok = br.BenchmarkResult("ingest", Path("ingest.json"), br.OK, data=data)
    table = br.integrity_table({"ingest": ok})
    assert list(table.index) == [br.label(k) for k in br.INTEGRITY_FIGURES]
    row = table.loc[br.label("integrity_check_s")]
    assert row["value"] == br.fmt(0.05, "integrity_check_s") and row["share"].startswith("20 %")
    assert table.loc[br.label("content_key_synth_s"), "value"] == "not measured"
    missing = br.integrity_table({"ingest": br.BenchmarkResult("ingest", Path("x"), br.MISSING)})
    assert (missing["value"] == "not measured").all()
