"""Locating the release: folders, archives extracted once into the cache, checks, clear errors."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ifl_utils.data import extract, locate
from ifl_utils.data import manifest as mf
from ifl_utils.data.extract import is_dataset_root
from ifl_utils.data.locate import cache_root, find_dataset_root, resolve_root
from ifl_utils.errors import IFLArchiveError, IFLDataError, IFLManifestError
from release_fixture import TOP, make_manifest_file, make_release, make_tar, make_zip, release_files, snapshot


@pytest.fixture()
def rel(tmp_path, cache_dir):
    """(dataset root, manifest) of a fixture release under ``tmp_path/src``."""
    root = make_release(tmp_path / "src" / TOP / "dataset")
    man = make_manifest_file(root, tmp_path / "manifest.tsv")
    return root, man


def _entries(cache: Path) -> set[str]:
    d = cache / "release"
    return {p.name for p in d.iterdir()} if d.is_dir() else set()


# ---------------------------------------------------------------------------------------------
# cache root


def test_cache_root_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv("IFLLM_CACHE", str(tmp_path / "c"))
    assert cache_root() == tmp_path / "c"
    assert not (tmp_path / "c").exists()  # not created just by asking


def test_cache_root_default_is_the_user_cache(monkeypatch):
    import pooch

    monkeypatch.delenv("IFLLM_CACHE", raising=False)
    assert cache_root() == Path(pooch.os_cache("ifllm")).absolute()
    assert cache_root().name == "ifllm"


# ---------------------------------------------------------------------------------------------
# folders


@pytest.mark.parametrize("given", ["root", "parent", "top-parent", "top-only"])
def test_folder_layouts(tmp_path, rel, given):
    root, man = rel
    src = tmp_path / "src"
    if given == "top-only":  # <folder>/<top>/ holds the tables directly
        shutil.move(root, src / "flat")
        shutil.rmtree(src / TOP)
        root = src / "flat"
    source = {"root": root, "parent": root.parent, "top-parent": src, "top-only": src}[given]
    before = snapshot(tmp_path / "src")
    assert resolve_root(source, manifest=man, progress=False) == root.resolve()
    assert snapshot(tmp_path / "src") == before  # nothing written beside or into the source


def test_source_from_env(rel, monkeypatch):
    root, man = rel
    monkeypatch.setenv("IFLLM_DATA", str(root))
    assert resolve_root(manifest=man, progress=False) == root.resolve()


def test_missing_source(tmp_path, rel):
    _, man = rel
    with pytest.raises(IFLDataError, match="release not found") as ei:
        resolve_root(tmp_path / "nowhere", manifest=man)
    assert "nowhere" in str(ei.value) and "query_logs_table.csv" in str(ei.value)


def test_folder_with_wrong_layout(tmp_path, rel):
    _, man = rel
    bad = tmp_path / "bad"
    (bad / "user_behavior").mkdir(parents=True)
    (bad / "query_logs_table.csv").write_text("x\n")
    with pytest.raises(IFLDataError, match="not an IFLLM release folder") as ei:
        resolve_root(bad, manifest=man)
    msg = str(ei.value)
    assert "task_table.csv" in msg and "found query_logs_table.csv, user_behavior/" in msg


def test_file_that_is_not_an_archive(tmp_path, rel):
    _, man = rel
    (tmp_path / "notes.txt").write_text("hello\n")
    with pytest.raises(IFLDataError, match="nor a supported archive"):
        resolve_root(tmp_path / "notes.txt", manifest=man)


def test_folder_with_two_releases_is_ambiguous(tmp_path, cache_dir):
    make_release(tmp_path / "two" / "a" / "dataset")
    make_release(tmp_path / "two" / "b" / "dataset")
    with pytest.raises(IFLDataError, match="more than one release"):
        find_dataset_root(tmp_path / "two")


def test_folder_differing_from_manifest(rel):
    root, man = rel
    for i in range(7):
        (root / "user_behavior" / f"extra_{i}.csv").write_text("x\n")
    (root / "task_table.csv").unlink()
    (root / "task_table.csv").mkdir()  # now the layout check fails: not a file
    with pytest.raises(IFLDataError, match="not an IFLLM release folder"):
        resolve_root(root, manifest=man)
    (root / "task_table.csv").rmdir()
    (root / "task_table.csv").write_text("changed\n")
    with pytest.raises(IFLManifestError) as ei:
        resolve_root(root, manifest=man, progress=False)
    msg = str(ei.value)
    assert "8 file(s) differ" in msg and "wrong size: task_table.csv" in msg
    assert "and 3 more" in msg and str(root.resolve()) in msg


def test_verify_modes(rel, monkeypatch):
    root, man = rel
    with pytest.raises(IFLDataError, match="verify must be one of"):
        resolve_root(root, verify="sometimes", manifest=man)
    calls = []
    real = mf.verify
    monkeypatch.setattr(mf, "verify", lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    resolve_root(root, verify="none", manifest=man)
    assert calls == []
    resolve_root(root, verify="full", manifest=man, progress=False)
    resolve_root(root, verify="fast", manifest=man)
    assert calls == ["full", "fast"]
    assert not mf.verify(root, "fast", manifest=man).n_hashed  # the full pass was recorded


# ---------------------------------------------------------------------------------------------
# archives


@pytest.mark.parametrize("kind,layout", [("xz", "top-dataset"), ("gz", "plain"), ("", "dataset"),
                                         ("zip", "top-dataset"), ("zip", "top")])
def test_archive_is_extracted_once_into_the_cache(tmp_path, rel, cache_dir, monkeypatch, kind, layout):
    root, man = rel
    name = "rel.zip" if kind == "zip" else f"rel.tar{'.' + kind if kind else ''}"
    (tmp_path / "arch").mkdir()
    if kind == "zip":
        archive = make_zip(root, tmp_path / "arch" / name, layout=layout)
    else:
        archive = make_tar(root, tmp_path / "arch" / name, layout=layout, compression=kind)
    before = snapshot(tmp_path / "arch")
    got = resolve_root(archive, manifest=man, progress=False)
    key = hashlib.sha256(archive.read_bytes()).hexdigest()[:16]
    assert got == cache_dir / "release" / key / "dataset"
    assert is_dataset_root(got) and release_files(got) == release_files(root)
    assert snapshot(tmp_path / "arch") == before  # nothing written beside the archive
    assert mf.is_verified(got, man)  # checked in full before publication

    real_sha = mf.sha256_file
    hashed: list[Path] = []
    monkeypatch.setattr(extract, "extract_into", lambda *a, **k: pytest.fail("extracted twice"))
    monkeypatch.setattr(mf, "sha256_file", lambda p: hashed.append(Path(p)) or real_sha(p))
    assert resolve_root(archive, manifest=man, progress=False) == got  # reused
    assert hashed == [archive]  # the archive, for its key; no dataset file (fast check)
    copy = tmp_path / "elsewhere.bin"
    shutil.copy(archive, copy)
    assert resolve_root(copy, manifest=man, progress=False) == got  # same bytes, same entry


def test_archive_not_matching_the_manifest_leaves_no_entry(tmp_path, rel, cache_dir):
    root, man = rel
    (root / "task_table.csv").write_text("task_id,topic\n1,cooking\n2,TRAVEL\n")  # same size, other bytes
    archive = make_tar(root, tmp_path / "rel.tar.xz")
    with pytest.raises(IFLManifestError, match="wrong sha256: task_table.csv") as ei:
        resolve_root(archive, manifest=man, progress=False)
    assert "rel.tar.xz" in str(ei.value) and "nothing was kept" in str(ei.value)
    assert {e for e in _entries(cache_dir) if not e.endswith(".lock")} == set()


def test_hostile_archive_through_resolve_root(tmp_path, rel, cache_dir):
    import tarfile

    root, man = rel

    def add(tf):
        info = tarfile.TarInfo(f"{TOP}/dataset/user_behavior/evil")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc"
        tf.addfile(info)

    archive = make_tar(root, tmp_path / "evil.tar.xz", extra=add)
    with pytest.raises(IFLArchiveError, match="unsafe member .*evil.*symbolic link"):
        resolve_root(archive, manifest=man, progress=False)
    assert {e for e in _entries(cache_dir) if not e.endswith(".lock")} == set()


def test_damaged_cache_entry_is_rebuilt(tmp_path, rel, cache_dir):
    root, man = rel
    archive = make_tar(root, tmp_path / "rel.tar.gz", compression="gz")
    got = resolve_root(archive, manifest=man, progress=False)
    victim = got / "user_behavior" / "worker_aaaa1111" / "183" / "abs_gaze.csv"
    victim.write_bytes(b"tampered")
    (got / "record_info_table.csv").unlink()
    again = resolve_root(archive, manifest=man, progress=False)
    assert again == got and release_files(again) == release_files(root)
    assert not [p for p in (cache_dir / "release").iterdir() if p.name.startswith(".")]


def test_verify_none_then_fast_does_a_full_check(tmp_path, rel, cache_dir):
    root, man = rel
    archive = make_tar(root, tmp_path / "rel.tar.xz")
    got = resolve_root(archive, verify="none", manifest=man, progress=False)
    assert not mf.is_verified(got, man)
    assert resolve_root(archive, manifest=man, progress=False) == got
    assert mf.is_verified(got, man)


_CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from ifl_utils.data import extract, locate
    archive, manifest, go = sys.argv[1:4]
    real = extract.extract_into
    def slow(*a, **k):
        print("EXTRACTING", flush=True)
        time.sleep(0.5)
        return real(*a, **k)
    extract.extract_into = slow
    while not Path(go).exists():
        time.sleep(0.01)
    print("ROOT", locate.resolve_root(archive, manifest=manifest, progress=False), flush=True)
""")


def test_two_processes_resolve_the_same_archive(tmp_path, rel, cache_dir):
    root, man = rel
    archive = make_tar(root, tmp_path / "rel.tar.xz")
    go = tmp_path / "go"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path), IFLLM_CACHE=str(cache_dir))
    procs = [subprocess.Popen([sys.executable, "-c", _CHILD, str(archive), str(tmp_path / "manifest.tsv"), str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]
    time.sleep(0.3)
    go.touch()
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert sum(o[0].count("EXTRACTING") for o in outs) == 1
    roots = {line for o in outs for line in o[0].splitlines() if line.startswith("ROOT")}
    assert len(roots) == 1
    got = Path(roots.pop().split(" ", 1)[1])
    assert release_files(got) == release_files(root)
    assert len([e for e in _entries(cache_dir) if not e.endswith(".lock")]) == 1


# ---------------------------------------------------------------------------------------------
# the real release


@pytest.mark.realdata
def test_real_release_resolves_and_verifies(real_root: Path, cache_dir):
    assert is_dataset_root(real_root)
    rep = mf.verify(real_root, "full")
    assert rep.ok, rep.summary()
    assert rep.n_ok == 2365
    assert locate.manifest_hash() == mf.load_manifest().sha256


def test_cache_root_imports_no_progress_bar_library(tmp_path):
    """The default cache folder comes from platformdirs, without importing pooch: pooch imports
    tqdm.auto, whose ipywidgets warning would land on stderr in every chapter (and in the book)."""
    import subprocess
    import sys

    code = ("import os, sys; os.environ.pop('IFLLM_CACHE', None)\n"
            "from ifl_utils.data.locate import cache_root\n"
            "p = cache_root()\n"
            "print(p.name, 'tqdm.auto' in sys.modules, 'pooch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "c")})
    assert out.stdout.split() == ["ifllm", "False", "False"]
