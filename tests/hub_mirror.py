"""A Hugging Face Hub mirror on localhost for tests: serves model folders in the Hub's layout, as HF_ENDPOINT expects.

It answers what huggingface_hub asks of a Hub when it downloads: a file's metadata (HEAD /{repo}/resolve/{revision}/
{path}, with its commit and ETag), the file itself (GET), "no such file" for the optional files transformers looks
for (404 with X-Error-Code: EntryNotFound), and a repository's file list (/api/models/{repo}). Every request is
recorded, so a test can see that the download came from the mirror.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@contextmanager
def hub_mirror(repos: dict[str, Path]) -> Iterator[tuple[str, list[str]]]:
    """(the mirror's URL, the paths it was asked for) while it serves `repos` ({"org/name": folder})."""
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            self._answer(body=False)

        def do_GET(self) -> None:
            self._answer(body=True)

        def _answer(self, body: bool) -> None:
            path = unquote(urlsplit(self.path).path)
            requests.append(f"{self.command} {path}")
            repo, file = _locate(path)
            if path.startswith("/api/models/") and repo in repos:
                files = sorted(p.relative_to(repos[repo]).as_posix() for p in repos[repo].rglob("*") if p.is_file())
                if "/tree/" in path:  # /api/models/org/name/tree/{revision}[/folder]
                    folder = "/".join(path.strip("/").split("/")[6:])
                    inside = [f for f in files if not folder or f.startswith(folder + "/")]
                    if folder and not inside:
                        return self._send(404, b"", body, {"X-Error-Code": "EntryNotFound"})
                    listing = [
                        {"type": "file", "path": f, "oid": COMMIT, "size": (repos[repo] / f).stat().st_size}
                        for f in inside
                    ]
                    content = json.dumps(listing).encode()
                else:
                    info = {"id": repo, "sha": COMMIT, "siblings": [{"rfilename": f} for f in files]}
                    content = json.dumps(info).encode()
                return self._send(200, content, body, {"Content-Type": "application/json"})
            if repo not in repos:
                return self._send(404, b"", body, {"X-Error-Code": "RepoNotFound"})
            local = repos[repo] / file
            if not file or not local.is_file():
                return self._send(404, b"", body, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": COMMIT})
            content = local.read_bytes()
            headers = {"X-Repo-Commit": COMMIT, "ETag": f'"{hashlib.sha256(content).hexdigest()}"'}
            self._send(200, content, body, headers)

        def _send(self, status: int, content: bytes, body: bool, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            if body:
                self.wfile.write(content)

        def log_message(self, *_: object) -> None:
            pass

    def _locate(path: str) -> tuple[str, str]:
        """("org/name", file path) of /org/name/resolve/rev/file or /api/models/org/name[/...]."""
        parts = path.strip("/").split("/")
        if parts[:2] == ["api", "models"]:
            return "/".join(parts[2:4]), ""
        if len(parts) >= 4 and parts[2] == "resolve":
            return "/".join(parts[:2]), "/".join(parts[4:])
        return "/".join(parts[:2]), ""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()
