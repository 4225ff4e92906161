"""The manifest: shipped file, parsing errors, full and fast verification, markers in the cache."""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest

from ifl_utils.data import manifest as mf
from ifl_utils.data.locate import manifest_hash
from ifl_utils.data.manifest import (MANIFEST_PATH, ManifestEntry, build_manifest, compare_with_sums, is_verified,
                                     load_manifest, marker_path, parse_manifest, read_sha256sums, render_tsv,
                                     verify)
from ifl_utils.errors import IFLManifestError
from release_fixture import make_manifest_file, make_release, snapshot


@pytest.fixture()
def fixture(tmp_path, cache_dir):
    root = make_release(tmp_path / "rel" / "dataset")
    man = make_manifest_file(root, tmp_path / "manifest.tsv")
    return root, man


# ---------------------------------------------------------------------------------------------
# the shipped manifest


def test_shipped_manifest_describes_the_release():
    m = load_manifest()
    assert m.n_files == 2365
    assert m.total_bytes == 508_785_443
    assert {"query_logs_table.csv", "task_table.csv", "record_info_table.csv"} <= set(m.entries)
    assert all(p.startswith("user_behavior/") for p in m.entries if "/" in p)
    assert list(m.entries) == sorted(m.entries)
    assert m.sha256 == hashlib.sha256(MANIFEST_PATH.read_bytes()).hexdigest() == manifest_hash()
    assert any("923bac0d194a9ec13ebd712df2e217aaebb82134" in c for c in m.comments)


def test_shipped_manifest_is_reproducible_text():
    text = MANIFEST_PATH.read_text(encoding="utf-8")
    assert load_manifest().to_tsv() == text  # canonical form: re-serialising gives the same bytes
    assert not re.search(r"/(tmp|work|home|Users)/", text)  # no machine path


# ---------------------------------------------------------------------------------------------
# parsing


@pytest.mark.parametrize("text,line,what", [
    ("path\tsize\n", 1, "expected the header"),
    ("path\tsize\tsha256\na.csv\t1\n", 2, "expected 3 tab-separated fields"),
    ("path\tsize\tsha256\na.csv\tone\t" + "0" * 64 + "\n", 2, "expected a size"),
    ("path\tsize\tsha256\na.csv\t1\t" + "G" * 64 + "\n", 2, "expected a sha256"),
    ("# c\npath\tsize\tsha256\n../a.csv\t1\t" + "0" * 64 + "\n", 3, "'..' component"),
    ("path\tsize\tsha256\n/a.csv\t1\t" + "0" * 64 + "\n", 2, "must be relative"),
    ("path\tsize\tsha256\na\t1\t" + "0" * 64 + "\na\t1\t" + "0" * 64 + "\n", 3, "duplicate path"),
    ("path\tsize\tsha256\r\n", 1, "line ends"),
])
def test_parse_errors_name_the_line(text, line, what):
    with pytest.raises(IFLManifestError, match=what) as ei:
        parse_manifest(text.encode(), source="m.tsv")
    assert ei.value.line == line and ei.value.path == "m.tsv"


def test_parse_without_header_and_missing_file(tmp_path):
    with pytest.raises(IFLManifestError, match="no header"):
        parse_manifest(b"# only a comment\n")
    with pytest.raises(IFLManifestError, match="cannot read the manifest"):
        load_manifest(tmp_path / "nope.tsv")


def test_roundtrip_and_hash(fixture, tmp_path):
    root, man = fixture
    again = build_manifest(root, comments=["fixture release"])
    assert again.entries == man.entries and again.sha256 == man.sha256
    assert man.sha256 == hashlib.sha256((tmp_path / "manifest.tsv").read_bytes()).hexdigest()
    assert manifest_hash(tmp_path / "manifest.tsv") == man.sha256
    assert load_manifest(man) is man
    text = render_tsv([ManifestEntry("b", 2, "1" * 64), ManifestEntry("a", 1, "0" * 64)], ["x"])
    assert text.splitlines()[2].startswith("a\t")


def test_sha256sums_cross_check(fixture, tmp_path):
    root, man = fixture
    sums = tmp_path / "SHA256SUMS"
    sums.write_text("".join(f"{e.sha256}  {e.path}\n" for e in man))
    assert compare_with_sums(man, read_sha256sums(sums)) == []
    lines = sums.read_text().splitlines()
    sums.write_text("\n".join(lines[1:] + [("f" * 64) + "  new.csv"]) + "\n")
    diffs = compare_with_sums(man, read_sha256sums(sums))
    assert any(d.startswith("only in the manifest") for d in diffs)
    assert any(d.startswith("only in the sums file: new.csv") for d in diffs)
    sums.write_text("nonsense\n")
    with pytest.raises(IFLManifestError, match="line 1"):
        read_sha256sums(sums)


# ---------------------------------------------------------------------------------------------
# verification


def test_full_verify_ok(fixture):
    root, man = fixture
    rep = verify(root, "full", manifest=man)
    assert rep.ok and rep.mode == "full"
    assert rep.n_ok == rep.n_expected == man.n_files == rep.n_hashed
    d = rep.to_dict()
    assert d["ok"] is True and d["missing"] == [] and d["n_ok"] == man.n_files
    assert "match the manifest" in rep.summary()


def test_verify_reports_every_kind_of_difference(fixture):
    root, man = fixture
    (root / "task_table.csv").unlink()  # missing
    (root / "user_behavior" / "worker_aaaa1111" / "183" / "new.csv").write_text("x\n")  # extra
    with open(root / "query_logs_table.csv", "a") as fh:  # size
        fh.write("3,w3,more\n")
    p = root / "record_info_table.csv"  # same size, other bytes
    data = bytearray(p.read_bytes())
    data[-2] = ord("9") if data[-2] != ord("9") else ord("8")
    p.write_bytes(bytes(data))
    (root / ".DS_Store").write_bytes(b"junk")  # ignored clutter
    rep = verify(root, "full", manifest=man)
    assert not rep.ok
    assert rep.missing == ["task_table.csv"]
    assert rep.extra == ["user_behavior/worker_aaaa1111/183/new.csv"]
    assert [s[0] for s in rep.size_mismatch] == ["query_logs_table.csv"]
    assert rep.size_mismatch[0][2] == rep.size_mismatch[0][1] + len("3,w3,more\n")
    assert [h[0] for h in rep.hash_mismatch] == ["record_info_table.csv"]
    assert rep.ignored == [".DS_Store"]
    assert rep.n_ok == man.n_files - 3 and rep.n_problems == 4
    s = rep.summary(limit=2)
    assert "4 file(s) differ" in s and "missing: task_table.csv" in s and "and 2 more" in s
    d = rep.to_dict()
    assert d["size_mismatch"][0]["path"] == "query_logs_table.csv" and d["ok"] is False
    # a failed check is not recorded: fast stays unavailable
    assert not is_verified(root, man)


def test_fast_only_after_a_full_pass(fixture, cache_dir, monkeypatch):
    root, man = fixture
    before = snapshot(root)
    rep = verify(root, "fast", manifest=man)
    assert rep.mode == "full" and rep.ok and rep.n_hashed == man.n_files  # never verified: full
    assert is_verified(root, man)
    assert marker_path(root, man.sha256).is_file()
    assert str(marker_path(root, man.sha256)).startswith(str(cache_dir))
    assert snapshot(root) == before  # nothing written into the dataset folder

    monkeypatch.setattr(mf, "sha256_file", lambda p: pytest.fail(f"fast check hashed {p}"))
    rep = verify(root, "fast", manifest=man)
    assert rep.mode == "fast" and rep.ok and rep.n_hashed == 0 and rep.n_ok == man.n_files


def test_fast_checks_sizes_and_rehashes_modified_files(fixture):
    root, man = fixture
    assert verify(root, "full", manifest=man).ok
    p = root / "task_table.csv"
    st = p.stat()
    # same size, new content, new modification time: fast re-hashes that one file
    p.write_bytes(p.read_bytes().replace(b"cooking", b"COOKING"))
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    rep = verify(root, "fast", manifest=man)
    assert rep.mode == "fast" and rep.n_hashed == 1
    assert [h[0] for h in rep.hash_mismatch] == ["task_table.csv"]
    # size change
    p.write_bytes(b"x")
    rep = verify(root, "fast", manifest=man)
    assert rep.size_mismatch == [("task_table.csv", man.entries["task_table.csv"].size, 1)]


def test_fast_limit_same_size_same_mtime_edit(fixture):
    """Documented limit: an edit keeping size and mtime passes fast, and is caught by full."""
    root, man = fixture
    assert verify(root, "full", manifest=man).ok
    p = root / "task_table.csv"
    st = p.stat()
    p.write_bytes(p.read_bytes().replace(b"cooking", b"COOKING"))
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert verify(root, "fast", manifest=man).ok
    assert not verify(root, "full", manifest=man).ok


def test_marker_is_per_manifest_and_per_folder(fixture, tmp_path):
    root, man = fixture
    assert verify(root, "full", manifest=man).ok
    # same files, another comment: another manifest hash, so no full pass on record
    text = (tmp_path / "manifest.tsv").read_text().replace("# fixture release", "# other")
    (tmp_path / "other.tsv").write_text(text)
    assert not is_verified(root, tmp_path / "other.tsv")
    assert verify(root, "fast", manifest=tmp_path / "other.tsv").mode == "full"
    copy = make_release(tmp_path / "copy" / "dataset")
    assert verify(copy, "fast", manifest=man).mode == "full"


def test_record_as_and_bad_arguments(fixture, tmp_path):
    root, man = fixture
    later = tmp_path / "later"
    assert verify(root, "full", manifest=man, record_as=later).ok
    assert is_verified(later, man) and not is_verified(root, man)
    with pytest.raises(IFLManifestError, match="'full' or 'fast'"):
        verify(root, "quick", manifest=man)
    with pytest.raises(IFLManifestError, match="expected a dataset folder"):
        verify(tmp_path / "nope", manifest=man)


def test_progress_bar_goes_to_stderr(fixture, capsys):
    root, man = fixture
    verify(root, "full", manifest=man, progress=True)
    out, err = capsys.readouterr()
    assert out == "" and "verify" in err


@pytest.mark.realdata
def test_real_release_full_verify(real_root: Path, cache_dir):
    rep = verify(real_root, "full", progress=False)
    assert rep.ok, rep.summary()
    assert rep.n_ok == rep.n_expected == 2365
    assert verify(real_root, "fast").mode == "fast"


def test_unreadable_file_is_reported_as_unreadable(fixture, monkeypatch):
    root, man = fixture
    real = mf.sha256_file

    def flaky(p):
        if Path(p).name == "task_table.csv":
            raise PermissionError(13, "Permission denied")
        return real(p)

    monkeypatch.setattr(mf, "sha256_file", flaky)
    rep = verify(root, "full", manifest=man)
    assert rep.missing == [] and rep.unreadable == [("task_table.csv", "Permission denied")]
    assert not rep.ok and "unreadable: task_table.csv (Permission denied)" in rep.summary()
    with pytest.raises(IFLManifestError, match="cannot read 1 file"):
        build_manifest(root)


_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "make_manifest.py"


@pytest.mark.parametrize("as_archive", [False, True])
def test_make_manifest_script(tmp_path, cache_dir, as_archive):
    import json
    import subprocess
    import sys

    from release_fixture import make_tar

    root = make_release(tmp_path / "rel" / "dataset")
    source = make_tar(root, tmp_path / "rel.tar.xz") if as_archive else tmp_path / "rel"
    out = tmp_path / "out.tsv"
    sums = tmp_path / "SUMS"
    sums.write_text("".join(f"{e.sha256}  {e.path}\n" for e in build_manifest(root)))

    def run(*args):
        return subprocess.run([sys.executable, str(_SCRIPT), str(source), "-o", str(out), "--quiet", *args],
                              capture_output=True, text=True, check=False)

    res = run("--sums", str(sums))
    assert res.returncode == 0, res.stderr
    info = json.loads(res.stdout)
    m = load_manifest(out)
    assert info["files"] == m.n_files == 9 and info["manifest_sha256"] == m.sha256
    assert info["sums_differences"] == 0
    assert any("files: 9;" in c for c in m.comments)
    assert str(tmp_path) not in out.read_text()  # no machine path recorded
    assert run("--check").returncode == 0
    out.write_text(out.read_text().replace("files: 9", "files: 8"))
    assert run("--check").returncode == 1
    sums.write_text(sums.read_text().replace(m.entries["task_table.csv"].sha256, "0" * 64))
    res = run("--sums", str(sums))
    assert res.returncode == 1 and "different sha256: task_table.csv" in res.stderr
