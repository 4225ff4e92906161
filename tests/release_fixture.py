"""Test helpers: a tiny IFLLM-like release built in code, archives of it, and a loopback HTTP server.

Nothing here touches the real release or the network: the release is a handful of small CSV files
in the released layout, the manifest is generated from it with the package's own code, and the
server listens on 127.0.0.1 (port chosen by the OS).
"""
from __future__ import annotations

import http.server
import io
import os
import random
import tarfile
import threading
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ifl_utils.data.manifest import Manifest, build_manifest, load_manifest, write_manifest

#: Top folder of the fixture archives (shaped like GitHub's ``<repo>-<commit>/``).
TOP = "llm-implicit-feedback-0123456789abcdef"

LAYOUTS = ("top-dataset", "dataset", "top", "plain")


def _rows(rng: random.Random, n: int, cols: int) -> str:
    return "".join(",".join(str(rng.randint(0, 10**6)) for _ in range(cols)) + "\n" for _ in range(n))


def make_release(folder: Path, seed: int = 0) -> Path:
    """Write a small release (three tables and ``user_behavior/``) into ``folder``; return it.

    The behaviour files hold a few hundred rows of random numbers so that compressed archives of
    the release are a few kilobytes (bytes flipped in the middle land in compressed data).
    """
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "query_logs_table.csv").write_text("query_id,worker_id,query\n1,w1,hello\n2,w2,\"a, b\"\n")
    (folder / "task_table.csv").write_text("task_id,topic\n1,cooking\n2,travel\n")
    (folder / "record_info_table.csv").write_text("record_id,worker_id,task_id\n183,w1,1\n184,w2,2\n")
    for worker, rec in (("worker_aaaa1111", "183"), ("worker_bbbb2222", "184")):
        d = folder / "user_behavior" / worker / rec
        d.mkdir(parents=True, exist_ok=True)
        for name in ("abs_gaze.csv", "abs_mouse.csv", "rel_mouse_left.csv"):
            (d / name).write_text(_rows(rng, 300, 4))
    return folder


def release_files(root: Path) -> dict[str, bytes]:
    """``relative path -> bytes`` of every file under ``root``."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def make_manifest_file(root: Path, path: Path) -> Manifest:
    """Build the manifest of ``root``, write it to ``path`` and return it (loaded from the file)."""
    write_manifest(build_manifest(root, comments=["fixture release"]), path)
    return load_manifest(path)


def _prefix(layout: str) -> str:
    return {"top-dataset": f"{TOP}/dataset/", "dataset": "dataset/", "top": f"{TOP}/", "plain": ""}[layout]


def _repo_extras(layout: str) -> dict[str, bytes]:
    """Files of the rest of a repository (outside dataset/) for the ``top-dataset`` layout."""
    if layout != "top-dataset":
        return {}
    return {f"{TOP}/README.md": b"# repo\n", f"{TOP}/analysis/run.py": b"print('hi')\n"}


def make_tar(root: Path, archive: Path, *, layout: str = "top-dataset", compression: str = "xz",
             extra: Callable[[tarfile.TarFile], None] | None = None) -> Path:
    """Pack ``root`` as a tar archive in the given layout (see :data:`LAYOUTS`).

    ``top-dataset`` also carries repository files and a symbolic link outside ``dataset/`` (as
    GitHub's tarball of the whole repository may); ``extra`` may add more members at the end.
    """
    mode = {"xz": "w:xz", "gz": "w:gz", "": "w"}[compression]
    prefix = _prefix(layout)
    with tarfile.open(archive, mode, format=tarfile.PAX_FORMAT) as tf:
        if prefix:
            for i in range(len(prefix.rstrip("/").split("/"))):
                d = tarfile.TarInfo("/".join(prefix.rstrip("/").split("/")[: i + 1]))
                d.type, d.mode = tarfile.DIRTYPE, 0o755
                tf.addfile(d)
        for rel, data in _repo_extras(layout).items():
            _add_bytes(tf, rel, data)
        if layout == "top-dataset":
            link = tarfile.TarInfo(f"{TOP}/docs-link")
            link.type, link.linkname = tarfile.SYMTYPE, "README.md"
            tf.addfile(link)
        for rel, data in release_files(root).items():
            _add_bytes(tf, prefix + rel, data)
        if extra is not None:
            extra(tf)
    return archive


def _add_bytes(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    info.mtime = 1_700_000_000
    tf.addfile(info, io.BytesIO(data))


add_bytes = _add_bytes


def make_zip(root: Path, archive: Path, *, layout: str = "top-dataset",
             extra: Callable[[zipfile.ZipFile], None] | None = None) -> Path:
    """Pack ``root`` as a zip archive in the given layout; ``extra`` may add more members."""
    prefix = _prefix(layout)
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for rel, data in _repo_extras(layout).items():
            zf.writestr(rel, data)
        for rel, data in release_files(root).items():
            zf.writestr(prefix + rel, data)
        if extra is not None:
            extra(zf)
    return archive


def flip_bytes(path: Path, at: float = 0.5, n: int = 16) -> None:
    """Invert ``n`` bytes of ``path`` starting at the fraction ``at`` of its length (in place)."""
    data = bytearray(path.read_bytes())
    start = int(len(data) * at)
    for i in range(start, min(start + n, len(data))):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def truncate(path: Path, keep: float = 0.6) -> None:
    """Keep only the first fraction ``keep`` of ``path``."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def snapshot(folder: Path) -> set[str]:
    """Every file and folder under ``folder`` (relative paths), symlinks included."""
    out = set()
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            out.add(os.path.relpath(os.path.join(dirpath, name), folder))
    return out


# ---------------------------------------------------------------------------------------------
# loopback HTTP server


class _Handler(http.server.BaseHTTPRequestHandler):
    server: "_Server"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - silence the log
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.server.requests.append(self.path)
        route = self.server.routes.get(self.path)
        if route is None:
            self.send_error(404, "Not Found")
            return
        kind, data = route(len([p for p in self.server.requests if p == self.path]))
        if kind == "ok":
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        elif kind == "cut":  # announce the full length, send part of it, close
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
        else:
            self.send_error(int(kind), "error")


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, Callable[[int], tuple[str, bytes]]] = {}
        self.requests: list[str] = []

    def url(self, path: str) -> str:
        """Full URL of ``path`` on this server."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}{path}"

    def serve(self, path: str, data: bytes) -> str:
        """Serve ``data`` at ``path``; return the URL."""
        self.routes[path] = lambda n: ("ok", data)
        return self.url(path)

    def serve_cut_then_ok(self, path: str, data: bytes, cuts: int = 1) -> str:
        """The first ``cuts`` requests of ``path`` are cut in the middle, later ones complete."""
        self.routes[path] = lambda n: ("cut" if n <= cuts else "ok", data)
        return self.url(path)

    def serve_status(self, path: str, status: int) -> str:
        """Answer ``path`` with an HTTP error status."""
        self.routes[path] = lambda n: (str(status), b"")
        return self.url(path)


@contextmanager
def loopback_server() -> Iterator[_Server]:
    """Run an HTTP server on 127.0.0.1 (free port) in a thread for the block."""
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)
