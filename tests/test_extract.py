"""Safe extraction: layouts, hostile members, corrupted archives, atomic publication, concurrency."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

from ifl_utils.data import extract
from ifl_utils.data.extract import archive_kind, extract_dataset, extract_into, target_complete
from ifl_utils.errors import IFLArchiveError, IFLDataError
from release_fixture import (TOP, add_bytes, flip_bytes, make_release, make_tar, make_zip, release_files,
                             snapshot, truncate)


@pytest.fixture()
def release(tmp_path) -> Path:
    return make_release(tmp_path / "src" / "dataset")


@pytest.mark.parametrize("layout", ["top-dataset", "dataset", "top", "plain"])
@pytest.mark.parametrize("compression", ["xz", "gz", ""])
def test_tar_layouts_extract_only_the_dataset(tmp_path, release, layout, compression):
    archive = make_tar(release, tmp_path / f"a.tar.{compression or 'plain'}", layout=layout,
                       compression=compression)
    target = tmp_path / "cache" / "release" / "k"
    root = extract_dataset(archive, target)
    assert root == target / "dataset"
    assert release_files(root) == release_files(release)
    # nothing but the dataset subtree and the info file was written (no README, no link)
    assert snapshot(target) == {"dataset", "extract.json"} | {f"dataset/{p}" for p in snapshot(release)}
    info = json.loads((target / "extract.json").read_text())
    expected_prefix = {"top-dataset": f"{TOP}/dataset/", "dataset": "dataset/", "top": f"{TOP}/", "plain": ""}
    assert info["member_prefix"] == expected_prefix[layout]
    assert info["n_files"] == len(release_files(release))


@pytest.mark.parametrize("layout", ["top-dataset", "plain"])
def test_zip_layouts(tmp_path, release, layout):
    archive = make_zip(release, tmp_path / "a.zip", layout=layout)
    root = extract_dataset(archive, tmp_path / "t")
    assert release_files(root) == release_files(release)


def test_kind_is_recognised_by_content_not_name(tmp_path, release):
    archive = make_tar(release, tmp_path / "release.bin", compression="gz")
    zipped = make_zip(release, tmp_path / "other.dat")
    assert archive_kind(archive) == "tar" and archive_kind(zipped) == "zip"
    (tmp_path / "notes.txt").write_text("hello")
    assert archive_kind(tmp_path / "notes.txt") is None
    with pytest.raises(IFLArchiveError, match="not a supported archive"):
        extract_dataset(tmp_path / "notes.txt", tmp_path / "t")


def test_archive_without_release_layout(tmp_path):
    archive = tmp_path / "x.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        add_bytes(tf, "repo/README.md", b"hi")
        add_bytes(tf, "repo/dataset/query_logs_table.csv", b"a\n")  # incomplete layout
    with pytest.raises(IFLDataError, match="expected the IFLLM release layout") as ei:
        extract_dataset(archive, tmp_path / "t")
    assert "x.tar.gz" in str(ei.value)
    assert not (tmp_path / "t").exists()
    assert not list(tmp_path.glob(".t.*"))


def test_second_call_reuses_without_reading_the_archive(tmp_path, release, monkeypatch):
    archive = make_tar(release, tmp_path / "a.tar.xz")
    target = tmp_path / "t"
    extract_dataset(archive, target)
    monkeypatch.setattr(extract, "extract_into", lambda *a, **k: pytest.fail("extracted twice"))
    archive.unlink()  # not even needed any more
    assert extract_dataset(archive, target) == target / "dataset"


def test_check_failure_publishes_nothing(tmp_path, release):
    archive = make_tar(release, tmp_path / "a.tar.xz")
    target = tmp_path / "cache" / "t"

    def reject(root: Path) -> None:
        assert (root / "task_table.csv").is_file()
        raise IFLDataError("rejected by the check")

    with pytest.raises(IFLDataError, match="rejected"):
        extract_dataset(archive, target, check=reject)
    assert snapshot(tmp_path / "cache") == {"t.lock"}


def test_interrupted_extraction_leftovers_are_cleaned(tmp_path, release):
    archive = make_tar(release, tmp_path / "a.tar.xz")
    target = tmp_path / "c" / "t"
    target.parent.mkdir()
    (target.parent / ".t.abc123.tmp" / "raw").mkdir(parents=True)  # a killed extraction
    target.mkdir()  # and a broken entry without its info file
    extract_dataset(archive, target)
    assert target_complete(target)
    assert snapshot(target.parent) >= {"t", "t.lock"}
    assert not [p for p in snapshot(target.parent) if p.startswith(".t.")]


@pytest.mark.parametrize("compression", ["xz", "gz"])
def test_max_bytes_limit(tmp_path, release, compression):
    # xz: refused from the stream's index; gz (no index): on the member headers, before writing
    archive = make_tar(release, tmp_path / f"a.tar.{compression}", compression=compression)
    with pytest.raises(IFLArchiveError, match="limit 1,000, set IFLLM_ARCHIVE_MAX_BYTES"):
        extract_dataset(archive, tmp_path / "t", max_bytes=1000)
    assert not (tmp_path / "t").exists()


# ---------------------------------------------------------------------------------------------
# hostile archives


def _hostile_tar_members(tmp_path: Path) -> dict[str, callable]:
    outside = tmp_path / "outside"

    def absolute(tf):
        add_bytes(tf, str(outside / "pwned.txt"), b"x")

    def dotdot(tf):
        add_bytes(tf, f"{TOP}/dataset/../../../../../outside/pwned.txt", b"x")

    def dotdot_in_dataset(tf):
        add_bytes(tf, f"{TOP}/dataset/user_behavior/../../../pwned.txt", b"x")

    def symlink(tf):
        info = tarfile.TarInfo(f"{TOP}/dataset/user_behavior/evil")
        info.type, info.linkname = tarfile.SYMTYPE, str(outside)
        tf.addfile(info)
        add_bytes(tf, f"{TOP}/dataset/user_behavior/evil/pwned.txt", b"x")

    def symlink_relative(tf):
        info = tarfile.TarInfo(f"{TOP}/dataset/user_behavior/evil")
        info.type, info.linkname = tarfile.SYMTYPE, "../../../../outside"
        tf.addfile(info)

    def hardlink(tf):
        info = tarfile.TarInfo(f"{TOP}/dataset/user_behavior/passwd")
        info.type, info.linkname = tarfile.LNKTYPE, "/etc/passwd"
        tf.addfile(info)

    def chardev(tf):
        info = tarfile.TarInfo(f"{TOP}/dataset/user_behavior/null")
        info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
        tf.addfile(info)

    def blockdev(tf):
        info = tarfile.TarInfo(f"{TOP}/dataset/sda")
        info.type, info.devmajor, info.devminor = tarfile.BLKTYPE, 8, 0
        tf.addfile(info)

    def fifo(tf):
        info = tarfile.TarInfo(f"{TOP}/dataset/user_behavior/pipe")
        info.type = tarfile.FIFOTYPE
        tf.addfile(info)

    return {"absolute": absolute, "dotdot": dotdot, "dotdot_in_dataset": dotdot_in_dataset,
            "symlink": symlink, "symlink_relative": symlink_relative, "hardlink": hardlink,
            "chardev": chardev, "blockdev": blockdev, "fifo": fifo}


HOSTILE = {
    "absolute": "absolute path", "dotdot": "'..' component", "dotdot_in_dataset": "'..' component",
    "symlink": "symbolic link", "symlink_relative": "symbolic link", "hardlink": "hard link",
    "chardev": "character device", "blockdev": "block device", "fifo": "FIFO",
}


@pytest.mark.parametrize("attack", sorted(HOSTILE))
def test_hostile_tar_is_refused_and_nothing_escapes(tmp_path, release, attack):
    add = _hostile_tar_members(tmp_path)[attack]
    archive = make_tar(release, tmp_path / "evil.tar.gz", compression="gz", extra=add)
    (tmp_path / "outside").mkdir()
    cache = tmp_path / "cache"
    before = snapshot(tmp_path)
    with pytest.raises(IFLArchiveError) as ei:
        extract_dataset(archive, cache / "release" / "k")
    msg = str(ei.value)
    assert HOSTILE[attack] in msg and "evil.tar.gz" in msg
    assert "unsafe member" in msg
    after = snapshot(tmp_path)
    # only the cache folder and its lock file appeared; nothing outside, no partial entry
    assert after - before == {"cache", "cache/release", "cache/release/k.lock"}
    assert not any("pwned" in p for p in after)


def test_links_outside_the_dataset_are_skipped_not_written(tmp_path, release):
    def add(tf):
        info = tarfile.TarInfo(f"{TOP}/scripts/evil-link")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc"
        tf.addfile(info)
        dev = tarfile.TarInfo(f"{TOP}/scripts/null")
        dev.type = tarfile.CHRTYPE
        tf.addfile(dev)

    archive = make_tar(release, tmp_path / "repo.tar.gz", compression="gz", extra=add)
    root = extract_dataset(archive, tmp_path / "t")
    assert release_files(root) == release_files(release)
    assert not any("evil" in p or "scripts" in p for p in snapshot(tmp_path / "t"))


@pytest.mark.parametrize("name,why", [
    ("../pwned.txt", "'..' component"),
    ("/abs/pwned.txt", "absolute path"),
    (f"{TOP}/dataset/..\\..\\pwned.txt", "backslash"),
    ("C:/pwned.txt", "absolute path"),
])
def test_hostile_zip_names(tmp_path, release, name, why):
    archive = make_zip(release, tmp_path / "evil.zip", extra=lambda zf: zf.writestr(name, b"x"))
    before = snapshot(tmp_path)
    with pytest.raises(IFLArchiveError, match=why):
        extract_dataset(archive, tmp_path / "cache" / "k")
    assert snapshot(tmp_path) - before == {"cache", "cache/k.lock"}


def test_zip_symlink_member_is_refused(tmp_path, release):
    def add(zf):
        info = zipfile.ZipInfo(f"{TOP}/dataset/user_behavior/evil")
        info.create_system = 3
        info.external_attr = (0o120777 << 16)
        zf.writestr(info, "/etc")

    archive = make_zip(release, tmp_path / "evil.zip", extra=add)
    with pytest.raises(IFLArchiveError, match="symbolic link"):
        extract_dataset(archive, tmp_path / "cache" / "k")
    assert not (tmp_path / "cache" / "k").exists()


def test_duplicate_member_is_refused(tmp_path, release):
    archive = make_tar(release, tmp_path / "dup.tar", compression="",
                       extra=lambda tf: add_bytes(tf, f"{TOP}/dataset/task_table.csv", b"other\n"))
    with pytest.raises(IFLArchiveError, match="duplicate member"):
        extract_dataset(archive, tmp_path / "t")


# ---------------------------------------------------------------------------------------------
# corrupted and truncated archives


@pytest.mark.parametrize("compression", ["xz", "gz"])
@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_corrupted_compressed_tar(tmp_path, release, compression, damage):
    archive = make_tar(release, tmp_path / f"a.tar.{compression}", compression=compression)
    flip_bytes(archive) if damage == "flip" else truncate(archive)
    with pytest.raises(IFLArchiveError, match="corrupted or truncated|truncated|corrupted"):
        extract_dataset(archive, tmp_path / "cache" / "k")
    assert snapshot(tmp_path / "cache") == {"k.lock"}


def test_truncated_plain_tar(tmp_path, release):
    archive = make_tar(release, tmp_path / "a.tar", compression="")
    truncate(archive, 0.5)
    with pytest.raises(IFLArchiveError, match="truncated"):
        extract_dataset(archive, tmp_path / "cache" / "k")
    assert snapshot(tmp_path / "cache") == {"k.lock"}


def test_damaged_header_in_plain_tar(tmp_path, release):
    archive = make_tar(release, tmp_path / "a.tar", compression="")
    # damage the header of a member in the middle: tarfile would silently stop there
    with tarfile.open(archive) as tf:
        members = tf.getmembers()
        victim = members[len(members) // 2]
    data = bytearray(archive.read_bytes())
    data[victim.offset + 100: victim.offset + 108] = b"\xff" * 8  # mode field: bad checksum
    archive.write_bytes(bytes(data))
    with pytest.raises(IFLArchiveError, match="corrupted"):
        extract_dataset(archive, tmp_path / "cache" / "k")


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_corrupted_zip(tmp_path, release, damage):
    archive = make_zip(release, tmp_path / "a.zip")
    flip_bytes(archive, at=0.4) if damage == "flip" else truncate(archive)
    with pytest.raises(IFLArchiveError, match="corrupted or truncated"):
        extract_dataset(archive, tmp_path / "cache" / "k")
    assert snapshot(tmp_path / "cache") == {"k.lock"}


def test_empty_file_is_not_an_archive(tmp_path):
    (tmp_path / "empty.tar.xz").write_bytes(b"")
    with pytest.raises(IFLArchiveError, match="not a supported archive"):
        extract_into(tmp_path / "empty.tar.xz", tmp_path)


# ---------------------------------------------------------------------------------------------
# two processes at once


_CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from ifl_utils.data import extract
    archive, target, go = map(Path, sys.argv[1:4])
    real = extract.extract_into
    def slow(*a, **k):
        print("EXTRACTING", flush=True)
        time.sleep(0.5)  # keep the lock long enough for the other process to wait on it
        return real(*a, **k)
    extract.extract_into = slow
    while not go.exists():
        time.sleep(0.01)
    print("ROOT", extract.extract_dataset(archive, target), flush=True)
""")


def test_two_processes_extract_once(tmp_path, release):
    archive = make_tar(release, tmp_path / "a.tar.xz")
    target = tmp_path / "cache" / "release" / "k"
    go = tmp_path / "go"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    procs = [subprocess.Popen([sys.executable, "-c", _CHILD, str(archive), str(target), str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]
    time.sleep(0.3)
    go.touch()
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    stdout = [o[0] for o in outs]
    assert sum(s.count("EXTRACTING") for s in stdout) == 1, stdout
    roots = {line.split(" ", 1)[1] for s in stdout for line in s.splitlines() if line.startswith("ROOT")}
    assert roots == {str(target / "dataset")}
    assert release_files(target / "dataset") == release_files(release)
    assert snapshot(target.parent) - {p for p in snapshot(target.parent) if p.startswith("k/")} == {"k", "k.lock"}


def test_file_and_folder_of_the_same_name_are_refused(tmp_path, release):
    def add(tf):
        add_bytes(tf, f"{TOP}/dataset/user_behavior/worker_aaaa1111/183/abs_gaze.csv/inner.csv", b"x")

    archive = make_tar(release, tmp_path / "c.tar", compression="", extra=add)
    with pytest.raises(IFLArchiveError, match="conflicts with another member"):
        extract_dataset(archive, tmp_path / "t")
    assert not (tmp_path / "t").exists()
