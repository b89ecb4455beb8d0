"""A local stand-in for the Hugging Face Hub's HTTP API (HF_ENDPOINT points at it), serving tiny repos.

It answers the calls huggingface_hub makes for snapshot_download: repo info, the file tree, and
resolve (HEAD and GET with Range). Faults can be switched on per file: a dropped connection
half-way through the first download, or wrong bytes (a checksum mismatch).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

COMMIT = "1" * 40


def _commit(revision: str | None) -> str:
    """A revision that is a commit hash is that commit (a pinned repo); a branch or tag is COMMIT."""
    return revision if revision and re.fullmatch(r"[0-9a-f]{40}", revision) else COMMIT


def _git_sha1(data: bytes) -> str:
    return hashlib.sha1(f"blob {len(data)}\0".encode() + data).hexdigest()


class FakeHub:
    def __init__(self) -> None:
        self.repos: dict[str, dict[str, bytes]] = {}
        self.drop_once: set[str] = set()  # files whose first GET is cut off half-way
        self.corrupt: set[str] = set()  # files served with wrong bytes
        self.slow: set[str] = set()  # files served at about 4 MB/s, so a test can kill the client mid-file
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, Range)
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_HEAD(self):  # noqa: N802
                hub._handle(self, head=True)

            def do_GET(self):  # noqa: N802
                hub._handle(self, head=False)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add_folder(self, repo: str, folder: Path) -> None:
        self.repos[repo] = {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}

    def close(self) -> None:
        self.server.shutdown()

    @staticmethod
    def _is_lfs(name: str) -> bool:
        return name.endswith((".bin", ".safetensors", ".pth", ".pt", ".onnx"))

    def _json(self, h, body, status=200, error_code=None):
        data = json.dumps(body).encode()
        h.send_response(status)
        if error_code:
            h.send_header("X-Error-Code", error_code)  # how the real Hub tells "no such repo" from other 404s
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def _handle(self, h: BaseHTTPRequestHandler, head: bool) -> None:
        path = h.path.split("?")[0]
        self.requests.append(("HEAD" if head else "GET", path, h.headers.get("Range")))
        m = re.match(r"^/api/models/([^/]+/[^/]+)(/revision/([^/]+))?$", path)
        if m:
            files = self.repos.get(m.group(1))
            if files is None:
                return self._json(h, {"error": "Repository not found"}, 404, "RepoNotFound")
            return self._json(h, {"id": m.group(1), "sha": _commit(m.group(3)),
                                  "siblings": [{"rfilename": f} for f in files]})
        m = re.match(r"^/api/models/([^/]+/[^/]+)/tree/([^/]+)(/.*)?$", path)
        if m:
            files = self.repos.get(m.group(1), {})
            entries = []
            for name, data in files.items():
                entry = {"type": "file", "path": name, "size": len(data), "oid": _git_sha1(data)}
                if self._is_lfs(name):
                    entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
                entries.append(entry)
            return self._json(h, entries)
        m = re.match(r"^/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$", path)
        if m and m.group(3) in self.repos.get(m.group(1), {}):
            name = m.group(3)
            data = self.repos[m.group(1)][name]
            etag = hashlib.sha256(data).hexdigest() if self._is_lfs(name) else _git_sha1(data)
            if name in self.corrupt:
                data = bytes(b ^ 0xFF for b in data)
            start = 0
            rng = h.headers.get("Range")
            if rng and not head:
                start = int(re.match(r"bytes=(\d+)-", rng).group(1))
            body = data[start:]
            h.send_response(206 if start else 200)
            h.send_header("Content-Length", str(len(body)))
            h.send_header("Accept-Ranges", "bytes")
            h.send_header("ETag", f'"{etag}"')
            h.send_header("X-Repo-Commit", _commit(m.group(2)))
            if self._is_lfs(name):
                h.send_header("X-Linked-Etag", f'"{etag}"')
                h.send_header("X-Linked-Size", str(len(data)))
            if start:
                h.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            h.end_headers()
            if head:
                return
            if name in self.drop_once and not start:
                self.drop_once.discard(name)
                h.wfile.write(body[: len(body) // 2])
                h.wfile.flush()
                h.close_connection = True
                h.connection.shutdown(2)
                return
            if name in self.slow:
                import time

                try:
                    for i in range(0, len(body), 256 * 1024):
                        h.wfile.write(body[i:i + 256 * 1024])
                        h.wfile.flush()
                        time.sleep(0.06)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client was killed
                return
            h.wfile.write(body)
            return
        self._json(h, {"error": "Entry not found"}, 404)
