"""Helpers for the `edgesim import` tests: an import written out as the command writes it, and a real
HTTP origin on 127.0.0.1 for the tests that serve what they imported (each test's handler says what
the origin answers; this module runs it on a socket of its own)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from edgesim.config_import import import_file


class OriginHandler(BaseHTTPRequestHandler):
    """A handler that answers with `send` and keeps the test output free of its access log."""

    def send(self, body: bytes, content_type: str, *, cache_control: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache_control)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def http_origin(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """Serve `handler` on a free port of 127.0.0.1 for the block: that port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def import_into(path: Path, tmp_path: Path, resource: str | None = None) -> tuple[str, list[str], Path]:
    """Import `path` into `tmp_path`/out as `edgesim import` does: (the config's text, the notes, its path)."""
    output = tmp_path / "out" / "edgesim.toml"
    output.parent.mkdir(exist_ok=True)
    result = import_file(path, output=output, functions_dir=output.parent / "functions", resource=resource)
    result.write(output)
    return result.toml, result.notes, output
