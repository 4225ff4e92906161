"""Download of the release, for real, against a loopback HTTP server serving fixture archives."""
from __future__ import annotations

import socket
from pathlib import Path

import pytest

from ifl_utils.data import fetch
from ifl_utils.data.fetch import ARCHIVE_URL, PINNED_COMMIT, download_name, download_release
from ifl_utils.data.locate import resolve_root
from ifl_utils.errors import IFLArchiveError, IFLFetchError, IFLManifestError
from release_fixture import flip_bytes, loopback_server, make_manifest_file, make_release, make_tar, release_files


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    """Talk to 127.0.0.1 directly even where a proxy is configured; never wait between retries."""
    for var in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setattr(fetch, "_sleep", lambda s: None)


@pytest.fixture()
def rel(tmp_path, cache_dir):
    """Fixture release, its manifest and its GitHub-shaped .tar.gz bytes."""
    root = make_release(tmp_path / "src" / "dataset")
    man = make_manifest_file(root, tmp_path / "manifest.tsv")
    archive = make_tar(root, tmp_path / "repo.tar.gz", compression="gz")
    return root, man, archive.read_bytes()


@pytest.fixture()
def server():
    with loopback_server() as srv:
        yield srv


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def test_pinned_url():
    assert PINNED_COMMIT == "923bac0d194a9ec13ebd712df2e217aaebb82134"
    assert ARCHIVE_URL == ("https://github.com/themehulpatwari/llm-implicit-feedback/archive/"
                           "923bac0d194a9ec13ebd712df2e217aaebb82134.tar.gz")
    name = download_name(ARCHIVE_URL)
    assert name.endswith("-llm-implicit-feedback-923bac0d194a9ec13ebd712df2e217aaebb82134.tar.gz")
    assert download_name("http://a/x/rel.tar.gz") != download_name("http://b/y/rel.tar.gz")


def test_download_once(tmp_path, rel, server):
    _, _, data = rel
    url = server.serve("/archive/abc.tar.gz", data)
    dest = tmp_path / "dl"
    path = download_release(url, dest, progress=False)
    assert path == dest / download_name(url) and path.read_bytes() == data
    assert _files(dest) == {path.name, ".download.lock"}
    assert download_release(url, dest, progress=False) == path
    assert server.requests == ["/archive/abc.tar.gz"]  # the second call did not touch the network


def test_end_to_end_download_extract_verify(tmp_path, rel, server, cache_dir, monkeypatch, capsys):
    root, man, data = rel
    monkeypatch.setattr(fetch, "ARCHIVE_URL", server.serve("/archive/commit.tar.gz", data))
    monkeypatch.delenv("IFLLM_DATA", raising=False)
    got = resolve_root(manifest=man, progress=True)
    assert got.is_relative_to(cache_dir / "release")
    assert release_files(got) == release_files(root)
    assert "downloading the IFLLM release" in capsys.readouterr().err
    # offline from now on: the same call reuses download and extraction
    assert resolve_root(manifest=man, progress=False) == got
    assert server.requests == ["/archive/commit.tar.gz"]


def test_corrupted_download_leaves_nothing_and_retry_works(tmp_path, rel, server, cache_dir, monkeypatch):
    root, man, data = rel
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(data)
    flip_bytes(bad, at=0.5, n=32)
    monkeypatch.setattr(fetch, "ARCHIVE_URL", server.serve("/c.tar.gz", bad.read_bytes()))
    monkeypatch.delenv("IFLLM_DATA", raising=False)
    with pytest.raises((IFLArchiveError, IFLManifestError)) as ei:
        resolve_root(manifest=man, progress=False)
    assert "corrupted" in str(ei.value) or "differ" in str(ei.value)
    assert _files(cache_dir / "download") == {".download.lock"}  # the bad download was deleted
    assert {p for p in _files(cache_dir / "release") if not p.endswith(".lock")} == set()
    server.serve("/c.tar.gz", data)  # the server is fixed
    got = resolve_root(manifest=man, progress=False)
    assert release_files(got) == release_files(root)
    assert server.requests == ["/c.tar.gz", "/c.tar.gz"]


def test_wrong_content_download_is_deleted(tmp_path, rel, server, cache_dir, monkeypatch):
    """A well-formed archive that is not the release fails the manifest check and is not kept."""
    root, man, _ = rel
    (root / "task_table.csv").write_text("changed\n")
    other = make_tar(root, tmp_path / "other.tar.gz", compression="gz").read_bytes()
    monkeypatch.setattr(fetch, "ARCHIVE_URL", server.serve("/o.tar.gz", other))
    monkeypatch.delenv("IFLLM_DATA", raising=False)
    with pytest.raises(IFLManifestError, match="task_table.csv"):
        resolve_root(manifest=man, progress=False)
    assert _files(cache_dir / "download") == {".download.lock"}
    assert {p for p in _files(cache_dir / "release") if not p.endswith(".lock")} == set()


def test_http_404(tmp_path, server):
    url = server.url("/missing.tar.gz")
    with pytest.raises(IFLFetchError) as ei:
        download_release(url, tmp_path / "dl", progress=False)
    msg = str(ei.value)
    assert url in msg and "HTTP 404" in msg and "IFLLM_DATA" in msg
    assert _files(tmp_path / "dl") == {".download.lock"}
    assert server.requests == ["/missing.tar.gz"]  # a client error is not retried


def test_http_500_is_retried_then_reported(tmp_path, server):
    url = server.serve_status("/boom.tar.gz", 500)
    with pytest.raises(IFLFetchError, match="HTTP 500"):
        download_release(url, tmp_path / "dl", progress=False, retries=2)
    assert server.requests == ["/boom.tar.gz"] * 3
    assert _files(tmp_path / "dl") == {".download.lock"}


def test_interrupted_transfer_leaves_no_partial_file_then_retry_succeeds(tmp_path, rel, server):
    _, _, data = rel
    url = server.serve_cut_then_ok("/cut.tar.gz", data, cuts=1)
    dest = tmp_path / "dl"
    with pytest.raises(IFLFetchError, match="interrupted") as ei:
        download_release(url, dest, progress=False, retries=0)
    assert url in str(ei.value)
    assert _files(dest) == {".download.lock"}  # no partial file under any name
    path = download_release(url, dest, progress=False, retries=0)
    assert path.read_bytes() == data


def test_interrupted_transfer_is_retried_automatically(tmp_path, rel, server):
    _, _, data = rel
    url = server.serve_cut_then_ok("/cut2.tar.gz", data, cuts=1)
    path = download_release(url, tmp_path / "dl", progress=False, retries=1)
    assert path.read_bytes() == data and server.requests == ["/cut2.tar.gz"] * 2


def test_connection_refused(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/x.tar.gz"
    with pytest.raises(IFLFetchError, match="ConnectionError") as ei:
        download_release(url, tmp_path / "dl", progress=False, retries=0)
    assert url in str(ei.value) and "IFLLM_DATA" in str(ei.value)


def test_stale_temporary_files_are_removed(rel, server, cache_dir):
    _, _, data = rel
    dest = cache_dir / "download"
    dest.mkdir(parents=True)
    (dest / "tmpabc12345").write_bytes(b"half a download from a killed process")
    (dest / "tmp-notes").write_bytes(b"not pooch's: kept")
    path = download_release(server.serve("/s.tar.gz", data), progress=False)
    assert path.parent == dest
    assert _files(dest) == {path.name, ".download.lock", "tmp-notes"}
