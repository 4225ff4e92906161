"""No silent wrong result (#21): content-keyed cache, self-checking cache, one rule for OS junk,
clean one-line errors, archive limits, crash hygiene. Every fixture is built in code."""
from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from ifl_utils import cli
from ifl_utils.data import build as build_mod
from ifl_utils.data import cache
from ifl_utils.data.api import Dataset, folder_fingerprint
from ifl_utils.data.extract import ArchiveLimits, extract_dataset, xz_uncompressed_size
from ifl_utils.data.junk import is_junk, junk_files
from ifl_utils.data.layout import check_layout
from ifl_utils.data.manifest import build_manifest, verify, write_manifest
from ifl_utils.data.synth import SynthConfig, make_release
from ifl_utils.errors import IFLArchiveError, IFLDataError, printable

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def synth_base(tmp_path_factory):
    return make_release(tmp_path_factory.mktemp("integrity") / "release", SynthConfig(workers=2, turns=2, seed=3))


@pytest.fixture()
def release(synth_base, tmp_path):
    """A fresh, writable copy of the synthetic release."""
    dst = tmp_path / "release"
    shutil.copytree(synth_base, dst)
    return dst


@pytest.fixture()
def cache_dir(tmp_path, monkeypatch):
    path = tmp_path / "cache"
    monkeypatch.setenv("IFLLM_CACHE", str(path))
    monkeypatch.delenv("IFLLM_DATA", raising=False)
    return path


def _first_stream(root: Path, name: str = "abs_gaze.csv") -> Path:
    return sorted((root / "user_behavior").rglob(name))[0]


def _clean_samples(root: Path, tmp: Path, monkeypatch) -> pd.DataFrame:
    """The samples of ``root`` from a build in a fresh, empty cache."""
    before = os.environ.get("IFLLM_CACHE")
    monkeypatch.setenv("IFLLM_CACHE", str(tmp))
    try:
        return Dataset(root, verify="none", progress=False).samples()
    finally:
        monkeypatch.setenv("IFLLM_CACHE", before)


# -------------------------------------------------------------------------------------------
# 1. content-addressed keys


def _one_byte_twin(src: Path, dst: Path) -> Path:
    """Copy ``src`` and change one digit of one gaze value; same sizes, same mtimes."""
    shutil.copytree(src, dst)
    # a pointwise folder (4 files): its abs_gaze rows are not doubled
    f = next(p for p in sorted((dst / "user_behavior").rglob("abs_gaze.csv"))
             if len(list(p.parent.iterdir())) == 4)
    data = bytearray(f.read_bytes())
    at = data.index(b"\n") + 1  # the first field (gaze x) of the second line
    assert chr(data[at]).isdigit()
    data[at] = ord("1") if data[at] != ord("1") else ord("2")
    st = f.stat()
    f.write_bytes(bytes(data))
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    return f


def test_one_byte_apart_never_share_a_cache_entry(release, tmp_path, cache_dir, monkeypatch):
    twin_root = tmp_path / "twin"
    changed = _one_byte_twin(release, twin_root)
    orig = release / changed.relative_to(twin_root)
    assert orig.stat().st_size == changed.stat().st_size
    assert orig.stat().st_mtime_ns == changed.stat().st_mtime_ns
    assert folder_fingerprint(release) != folder_fingerprint(twin_root)

    first = Dataset(release, verify="none", progress=False)
    second = Dataset(twin_root, verify="none", progress=False)
    a = first.samples(columns=["gaze_x"])
    b = second.samples(columns=["gaze_x"])
    assert first.ensure() != second.ensure()
    assert not a.equals(b)
    clean = _clean_samples(twin_root, tmp_path / "clean-cache", monkeypatch)
    pd.testing.assert_series_equal(b["gaze_x"], clean["gaze_x"])


def test_fingerprint_ignores_times_only(release):
    before = folder_fingerprint(release)
    for f in (release / "user_behavior").rglob("*.csv"):
        os.utime(f, (1_000_000, 1_000_000))
    assert folder_fingerprint(release) == before


# -------------------------------------------------------------------------------------------
# 2. a self-checking cache


@pytest.fixture()
def built(release, cache_dir, monkeypatch):
    """A cache entry whose callbacks table has several parts; and the clean build's tables."""
    monkeypatch.setattr(build_mod, "CHUNK", 2)
    ds = Dataset(release, verify="none", progress=False)
    entry = ds.ensure()
    parts = sorted((entry / "callbacks.parquet").glob("part-*.parquet"))
    assert len(parts) >= 2
    clean = {"samples": ds.samples(), "queries": ds.queries(), "summary": ds.summary()}
    return release, entry, clean


def _damage(entry: Path, how: str, rel: str) -> None:
    p = entry / rel
    if how == "delete":
        p.unlink()
    elif how == "truncate":
        data = p.read_bytes()
        p.write_bytes(data[: len(data) // 2])
    elif how == "bitflip":
        data = bytearray(p.read_bytes())
        data[len(data) // 2] ^= 0x04
        p.write_bytes(bytes(data))
    elif how == "swap":
        other = sorted(q for q in p.parent.glob("part-*.parquet") if q != p)[0]
        tmp = p.with_name("swap.tmp")
        os.rename(p, tmp)
        os.rename(other, p)
        os.rename(tmp, other)
    elif how == "extra":
        shutil.copy(p, p.with_name("part-9999.parquet"))
    else:  # pragma: no cover
        raise ValueError(how)


def _check_detected_and_clean(release, entry, clean, rel, capsys):
    ds = Dataset(release, verify="none", progress=False)
    samples = ds.samples()
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and rel.split("/")[0] in warnings[0] and "rebuilding" in warnings[0]
    pd.testing.assert_frame_equal(samples, clean["samples"])
    pd.testing.assert_frame_equal(ds.queries(), clean["queries"])
    assert ds.summary() == clean["summary"]
    assert cache.check_entry(entry) is None


@pytest.mark.parametrize("how", ["delete", "truncate", "bitflip", "swap", "extra"])
def test_damaged_callbacks_part_is_detected_and_rebuilt(built, how, capsys):
    release, entry, clean = built
    rel = "callbacks.parquet/part-0001.parquet"
    _damage(entry, how, rel)
    assert cache.check_entry(entry) is not None
    _check_detected_and_clean(release, entry, clean, rel, capsys)


def test_every_cache_file_bitflip_and_truncation_is_detected(built, capsys):
    release, entry, clean = built
    files = sorted(p.relative_to(entry).as_posix() for p in entry.rglob("*") if p.is_file())
    assert "meta.json" in files and len(files) >= 8
    for rel in files:
        for how in ("bitflip", "truncate"):
            _damage(entry, how, rel)
            problem = cache.check_entry(entry)
            assert problem is not None, (how, rel)
            if rel != "meta.json":
                assert rel in problem
            ds = Dataset(release, verify="none", progress=False)
            pd.testing.assert_frame_equal(ds.samples(), clean["samples"])
            assert cache.check_entry(entry) is None
    capsys.readouterr()


def test_meta_records_sizes_digests_and_rows(built):
    _, entry, _ = built
    meta = cache.read_meta(entry)
    files = meta["files"]
    part = files["callbacks.parquet/part-0000.parquet"]
    assert part["size"] == (entry / "callbacks.parquet/part-0000.parquet").stat().st_size
    assert ":" in part["digest"] and part["rows"] > 0
    rows = sum(v["rows"] for k, v in files.items() if k.startswith("callbacks.parquet/"))
    assert rows == meta["rows"]["callbacks"]


def test_row_count_disagreeing_with_meta_is_detected(built):
    _, entry, _ = built
    import json

    meta = json.loads((entry / "meta.json").read_text())
    meta["rows"]["callbacks"] += 1
    (entry / "meta.json").write_text(json.dumps(meta))
    assert "meta.json differs from its recorded digest" in cache.check_entry(entry)
    cache._write_meta(entry, meta)  # a consistent meta.json whose count disagrees with the files
    assert "rows, expected" in cache.check_entry(entry)


def test_text_checks_file_is_recorded_and_checked(built, capsys):
    release, entry, _ = built
    ds = Dataset(release, verify="none", progress=False)
    first = ds.text_checks()
    assert "text_checks.parquet" in cache.read_meta(entry)["files"]
    _damage(entry, "bitflip", "text_checks.parquet")
    again = Dataset(release, verify="none", progress=False).text_checks()
    pd.testing.assert_frame_equal(first, again)
    assert "text_checks.parquet" in capsys.readouterr().err


# -------------------------------------------------------------------------------------------
# 3. one rule for OS junk


def test_junk_rule():
    for rel in (".DS_Store", "user_behavior/w/1/Thumbs.db", "desktop.ini", "__MACOSX/x.csv",
                "user_behavior/._abs_gaze.csv"):
        assert is_junk(rel), rel
    for rel in ("abs_gaze.csv", "user_behavior/w/1/abs_gaze.csv", "a_.DS_Store"):
        assert not is_junk(rel), rel


def _add_junk(root: Path) -> list[str]:
    task = _first_stream(root).parent
    (task / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (task / "Thumbs.db").write_bytes(b"x")
    (task / "._abs_gaze.csv").write_bytes(b"\0\5\26\7")
    (root / "desktop.ini").write_text("[.ShellClassInfo]\n")
    (root / "user_behavior" / "__MACOSX").mkdir()
    (root / "user_behavior" / "__MACOSX" / "x").write_bytes(b"y")
    return junk_files(root)


def test_junk_is_ignored_by_verify_layout_and_parser_and_counted(release, tmp_path, cache_dir, capsys):
    manifest = build_manifest(release)
    mpath = write_manifest(manifest, tmp_path / "m.tsv")
    clean_summary = Dataset(release, verify="none", progress=False).summary()
    junk = _add_junk(release)
    assert len(junk) == 5
    rep = verify(release, "full", manifest=mpath, cache=cache_dir, record=False)
    assert rep.ok and len(rep.ignored) == 5
    assert check_layout(release) == []
    for attempt in ("cold", "warm"):
        ds = Dataset(release, verify="none", progress=False)
        s = ds.summary()
        assert {k: v for k, v in s.items() if k != "quality"} == \
            {k: v for k, v in clean_summary.items() if k != "quality"}, attempt
        report = ds.quality_report().set_index("#")
        assert report.loc[31, "count"] == 5
    # without clutter (the published release) the report has no such row
    from ifl_utils.data.quality import quality_report

    assert 31 not in set(quality_report({})["#"])


def test_junk_under_the_manifest_key_changes_the_entry(release, tmp_path, cache_dir, monkeypatch):
    from ifl_utils.data import api

    manifest = build_manifest(release)
    monkeypatch.setattr(api, "manifest_hash", lambda: manifest.sha256)
    before = api.release_key(release)
    assert before == manifest.sha256
    _add_junk(release)
    assert api.release_key(release) != before


# -------------------------------------------------------------------------------------------
# 4. clean one-line errors (exit 2, no traceback unless --debug)


def _cli(args, capsys):
    rc = cli.main(args)
    out = capsys.readouterr()
    return rc, out.err


def _assert_one_line(rc, err, *needles):
    assert rc == 2, err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for n in needles:
        assert n in lines[0], (n, lines[0])


def _summary(root):
    return ["data", "summary", "--unverified", "--data", str(root)]


def test_header_only_query_log(release, cache_dir, capsys):
    path = release / "query_logs_table.csv"
    path.write_text(path.read_text().splitlines()[0] + "\n")
    _assert_one_line(*_cli(_summary(release), capsys), "query_logs_table.csv", "no rows")


def test_empty_record_info(release, cache_dir, capsys):
    (release / "record_info_table.csv").write_bytes(b"")
    _assert_one_line(*_cli(_summary(release), capsys), "record_info_table.csv", "empty file")


def test_empty_stream_names_that_file(release, cache_dir, capsys):
    f = _first_stream(release)
    f.write_bytes(b"")
    rel = f.relative_to(release).as_posix()
    rc, err = _cli(_summary(release), capsys)
    _assert_one_line(rc, err, rel, "empty file")
    assert "np.float64" not in err


def test_unreadable_csv_unverified_and_verified(release, tmp_path, cache_dir, capsys, monkeypatch):
    from ifl_utils.data import digest, manifest as manifest_mod

    target = release / "task_table.csv"
    mpath = write_manifest(build_manifest(release), tmp_path / "m.tsv")
    real_digest, real_sha = digest.file_digest, manifest_mod.sha256_file

    def deny(real):
        def inner(path):
            if Path(path) == target:
                raise PermissionError(13, "Permission denied", str(path))
            return real(path)
        return inner

    monkeypatch.setattr(digest, "file_digest", deny(real_digest))
    monkeypatch.setattr(manifest_mod, "sha256_file", deny(real_sha))
    _assert_one_line(*_cli(_summary(release), capsys), "task_table.csv", "Permission denied")
    rep = verify(release, "full", manifest=mpath, cache=cache_dir, record=False)
    assert not rep.ok and rep.missing == []
    assert rep.unreadable == [("task_table.csv", "Permission denied")]
    assert "unreadable: task_table.csv" in rep.summary()


def test_cache_root_is_a_file(release, tmp_path, monkeypatch, capsys):
    f = tmp_path / "cachefile"
    f.write_text("")
    monkeypatch.setenv("IFLLM_CACHE", str(f))
    _assert_one_line(*_cli(_summary(release), capsys), "cachefile", "IFLLM_CACHE")


def test_cache_root_read_only(release, tmp_path, monkeypatch, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, 0o555)
    monkeypatch.setenv("IFLLM_CACHE", str(ro))
    if os.geteuid() == 0:  # root writes anywhere: make the check see what a user would
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if str(p).startswith(str(ro))
                            else real(p, mode, **kw))
        (ro / "parsed").mkdir()
    try:
        _assert_one_line(*_cli(_summary(release), capsys), str(ro), "writable")
    finally:
        os.chmod(ro, 0o755)


def test_debug_prints_the_traceback(release, cache_dir, capsys):
    (release / "record_info_table.csv").write_bytes(b"")
    with pytest.raises(IFLDataError):
        cli.main([*_summary(release), "--debug"])


def _run_cli(args, cache: Path, timeout: float = 20):
    env = dict(os.environ, IFLLM_CACHE=str(cache), PYTHONPATH=str(ROOT))
    env.pop("IFLLM_DATA", None)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "ifl_utils.cli", *args], env=env, text=True,
                         capture_output=True, timeout=timeout, check=False)
    return out, time.perf_counter() - t0


@pytest.mark.parametrize("command", [["data", "summary", "--data"], ["data", "verify"]])
def test_fifo_as_data_fails_fast(tmp_path, command):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    out, seconds = _run_cli([*command, str(fifo)], tmp_path / "cache")
    assert out.returncode == 2 and seconds < 20
    assert "Traceback" not in out.stderr and str(fifo) in out.stderr


def test_two_releases_at_different_depths_folder(release, tmp_path, cache_dir, capsys):
    outer = tmp_path / "outer"
    shutil.copytree(release, outer)
    shutil.copytree(release, outer / "dataset")
    _assert_one_line(*_cli(_summary(outer), capsys), "ambiguous input", "./", "dataset/")


def _tar_of(files: dict[str, bytes], path: Path, mode: str = "w:xz") -> Path:
    with tarfile.open(path, mode) as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            tf.addfile(info, io.BytesIO(data))
    return path


def _files_of(root: Path, prefix: str = "") -> dict[str, bytes]:
    return {prefix + p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_two_releases_at_different_depths_archive(release, tmp_path, cache_dir, capsys):
    files = {**_files_of(release), **_files_of(release, "dataset/")}
    archive = _tar_of(files, tmp_path / "two.tar.xz")
    _assert_one_line(*_cli(_summary(archive), capsys), "ambiguous input", "dataset/")


def test_control_characters_are_escaped(release, tmp_path, cache_dir, capsys):
    evil = "user_behavior/\x1b]0;owned\x07\n.csv"
    archive = _tar_of({**_files_of(release), "/" + evil: b"x"}, tmp_path / "evil.tar.xz")
    rc, err = _cli(_summary(archive), capsys)
    _assert_one_line(rc, err, "unsafe member")
    assert "\x1b" not in err and "\x07" not in err and "\\x1b" in err
    assert printable("a\x1bb\n") == "a\\x1bb\\n"


def test_same_size_same_mtime_archives_differ(release, tmp_path, cache_dir, capsys):
    """Why 1: two reproducible archives (fixed mtimes) differing only in values."""
    twin = tmp_path / "twin"
    _one_byte_twin(release, twin)
    a = _tar_of(_files_of(release), tmp_path / "a.tar.xz")
    b = _tar_of(_files_of(twin), tmp_path / "b.tar.xz")
    sa = Dataset(a, verify="none", progress=False).samples(columns=["gaze_x"])
    sb = Dataset(b, verify="none", progress=False).samples(columns=["gaze_x"])
    assert not sa.equals(sb)


# -------------------------------------------------------------------------------------------
# 5. archive limits, from the index where there is one


def test_member_count_bomb_refused_quickly(tmp_path, cache_dir, monkeypatch):
    archive = tmp_path / "bomb.tar.xz"
    with tarfile.open(archive, "w:xz") as tf:
        for i in range(17_000):
            info = tarfile.TarInfo(f"dataset/user_behavior/w/{i}")
            info.mtime = 0
            tf.addfile(info, io.BytesIO(b""))
    # refused from the xz index at once (empty members compress several hundred-fold) ...
    t0 = time.perf_counter()
    with pytest.raises(IFLArchiveError, match="expands .*from the xz index"):
        extract_dataset(archive, tmp_path / "t")
    assert time.perf_counter() - t0 < 2
    # ... and, with the ratio allowed, by the member count read from the headers
    monkeypatch.setenv("IFLLM_ARCHIVE_MAX_RATIO", "1e6")
    t0 = time.perf_counter()
    with pytest.raises(IFLArchiveError, match="more than 10,000 members.*IFLLM_ARCHIVE_MAX_MEMBERS"):
        extract_dataset(archive, tmp_path / "t")
    assert time.perf_counter() - t0 < 20
    assert not (tmp_path / "t").exists() and not list(tmp_path.glob(".t.*"))


def test_member_limit_overridable(release, tmp_path, monkeypatch):
    archive = _tar_of(_files_of(release, "dataset/"), tmp_path / "a.tar.gz", "w:gz")
    n = len(_files_of(release))
    monkeypatch.setenv("IFLLM_ARCHIVE_MAX_MEMBERS", str(n - 1))
    with pytest.raises(IFLArchiveError, match=f"limit {n - 1:,}"):
        extract_dataset(archive, tmp_path / "t")
    monkeypatch.setenv("IFLLM_ARCHIVE_MAX_MEMBERS", str(n))
    assert (extract_dataset(archive, tmp_path / "t") / "query_logs_table.csv").is_file()


def test_ratio_bomb_refused_from_the_index(tmp_path, monkeypatch):
    zeros = b"\0" * (32 << 20)
    xz = _tar_of({"dataset/query_logs_table.csv": zeros}, tmp_path / "z.tar.xz")
    assert xz_uncompressed_size(xz) >= len(zeros)
    zp = tmp_path / "z.zip"
    with zipfile.ZipFile(zp, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("dataset/query_logs_table.csv", zeros)
    for archive in (xz, zp):
        with pytest.raises(IFLArchiveError, match="expands .*fold.*from the .*index.*IFLLM_ARCHIVE_MAX_RATIO"):
            extract_dataset(archive, tmp_path / "t")
    monkeypatch.setenv("IFLLM_ARCHIVE_MAX_RATIO", "1e9")
    with pytest.raises(IFLDataError, match="release layout"):  # allowed through; then no release
        extract_dataset(zp, tmp_path / "t")


def test_declared_bytes_limit_zip_index(release, tmp_path):
    zp = tmp_path / "a.zip"
    with zipfile.ZipFile(zp, "w") as zf:
        for name, data in _files_of(release, "dataset/").items():
            zf.writestr(name, data)
    with pytest.raises(IFLArchiveError, match="from the archive's index"):
        extract_dataset(zp, tmp_path / "t", max_bytes=100)


def test_limits_env_must_be_numbers(monkeypatch):
    monkeypatch.setenv("IFLLM_ARCHIVE_MAX_RATIO", "lots")
    with pytest.raises(IFLDataError, match="IFLLM_ARCHIVE_MAX_RATIO"):
        ArchiveLimits.from_env()


# -------------------------------------------------------------------------------------------
# 6. crash hygiene


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_stale_temp_of_a_dead_build_is_removed(release, cache_dir):
    parsed = cache_dir / "parsed"
    parsed.mkdir(parents=True)
    dead = parsed / f".0123456789abcdef-v{cache.CACHE_VERSION}.{_dead_pid()}.k2j4h5g6"
    alive = parsed / f".fedcba9876543210-v{cache.CACHE_VERSION}.{os.getppid()}.a1b2c3d4"
    for d in (dead, alive):
        (d / "callbacks.parquet").mkdir(parents=True)
        (d / "callbacks.parquet" / "part-0000.parquet").write_bytes(b"x" * 1000)
    Dataset(release, verify="none", progress=False).ensure()
    assert not dead.exists()
    assert alive.exists()


def test_stale_extraction_temp_of_a_dead_process_is_removed(release, tmp_path):
    archive = _tar_of(_files_of(release, "dataset/"), tmp_path / "a.tar.xz")
    target = tmp_path / "rel" / "key"
    target.parent.mkdir()
    dead = target.parent / f".otherkey.{_dead_pid()}.abcd1234.tmp"
    (dead / "raw").mkdir(parents=True)
    extract_dataset(archive, target)
    assert not dead.exists()


_POOL_PARENT = r"""
import os, sys, time
from concurrent.futures import ProcessPoolExecutor
from ifl_utils.data.build import _exit_with_parent

def work(_):
    print(os.getpid(), flush=True)
    time.sleep(120)

if __name__ == "__main__":
    with ProcessPoolExecutor(max_workers=1, initializer=_exit_with_parent,
                             initargs=(os.getpid(), 0.1)) as pool:
        pool.submit(work, 0)
        time.sleep(120)
"""


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
def test_pool_workers_exit_when_the_parent_is_killed(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(_POOL_PARENT)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        worker = int(parent.stdout.readline())
        assert _running(worker)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.time() + 10
        while _running(worker) and time.time() < deadline:
            time.sleep(0.1)
        assert not _running(worker)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        parent.stdout.close()


def test_bytes_limit_overridable_by_env(release, tmp_path, monkeypatch):
    archive = _tar_of(_files_of(release, "dataset/"), tmp_path / "a.tar.gz", "w:gz")
    with pytest.raises(IFLArchiveError, match="IFLLM_ARCHIVE_MAX_BYTES"):
        extract_dataset(archive, tmp_path / "t", max_bytes=100)
    monkeypatch.setenv("IFLLM_ARCHIVE_MAX_BYTES", str(1 << 30))
    assert (extract_dataset(archive, tmp_path / "t", max_bytes=100) / "task_table.csv").is_file()


def test_fifo_inside_an_unverified_folder(release, tmp_path, cache_dir, capsys):
    f = _first_stream(release)
    f.unlink()
    os.mkfifo(f)
    _assert_one_line(*_cli(_summary(release), capsys), f.relative_to(release).as_posix(), "FIFO")


# -------------------------------------------------------------------------------------------
# the real release (IFLLM_DATA): its warm cache entry passes its own check, every file recorded


def test_real_release_cache_entry_is_self_checking(real_root):
    from ifl_utils.data.api import release_key
    from ifl_utils.data.locate import manifest_hash

    assert release_key(real_root) == manifest_hash()  # the release holds no clutter
    entry = Dataset(os.environ["IFLLM_DATA"], progress=False).ensure()
    assert cache.check_entry(entry) is None
    files = cache.read_meta(entry)["files"]
    on_disk = {p.relative_to(entry).as_posix() for p in entry.rglob("*")
               if p.is_file() and p.name != "meta.json" and not p.name.startswith(".")}
    assert set(files) == on_disk
    assert sum(v["rows"] for k, v in files.items() if k.startswith("callbacks.parquet/")) == 1_833_139
