"""The stacks under load: the fast origin, the reference proxies, and edgesim serving a config.

Each `start_*` returns a `Service` (a context manager) listening on 127.0.0.1. The origin is nginx
serving a static file when nginx is installed, else a few lines of Node `http`; either one does tens
of thousands of requests per second here, so it is never what limits a proxy in front of it.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks.processes import HOST, Service, free_port

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# The small static body every stack returns (about 0.5 KB, like a small HTML page).
BODY = ("<!doctype html><title>edgesim bench</title><p>" + "x" * 512 + "</p>\n").encode()


def nginx_binary() -> str | None:
    if os.environ.get("EDGESIM_BENCH_NO_NGINX"):  # as on a machine without nginx (--no-nginx)
        return None
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx")
                                          if os.access(p, os.X_OK)), None)


def _nginx_conf(work: Path, server_block: str) -> Path:
    """A self-contained nginx config: one worker, no daemon, every path inside `work`."""
    work.mkdir(parents=True, exist_ok=True)
    # nginx's worker runs as `nobody` when started as root: let it reach the work dir.
    work.parent.chmod(0o755)
    work.chmod(0o755)
    temp = work / "tmp"
    conf = f"""
daemon off;
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {temp}; proxy_temp_path {temp}; fastcgi_temp_path {temp};
    uwsgi_temp_path {temp}; scgi_temp_path {temp};
    keepalive_requests 1000000;
    {server_block}
}}
"""
    path = work / "nginx.conf"
    path.write_text(conf, encoding="utf-8")
    return path


def _reachable(directory: Path) -> None:
    """Let nginx's worker (`nobody` when started as root) reach `directory`: a TemporaryDirectory is
    0700. Every folder from `directory` up to the system's temp folder (not included) gets search
    permission for others; outside the temp folder only `directory` itself does."""
    temp = Path(tempfile.gettempdir()).resolve()
    directory = directory.resolve()
    folders = [directory]
    if directory.is_relative_to(temp):
        folders += [p for p in directory.parents if p.is_relative_to(temp) and p != temp]
    for folder in folders:
        mode = folder.stat().st_mode
        if not mode & 0o001:
            folder.chmod(mode | 0o755)


def start_origin(work: Path) -> tuple[Service, str]:
    """The fast origin and what it is ("nginx static file" or "node http")."""
    port = free_port()
    nginx = nginx_binary()
    if nginx:
        www = work / "www"
        www.mkdir(parents=True, exist_ok=True)
        _reachable(www)
        (www / "index.html").write_bytes(BODY)
        # Every path answers with the one file, so behaviors like /m0/* have something to fetch.
        block = f"""server {{
        listen {HOST}:{port};
        root {www};
        location / {{ try_files /index.html =404; add_header Cache-Control "max-age=3600"; }}
    }}"""
        conf = _nginx_conf(work / "nginx-origin", block)
        return Service("origin", [nginx, "-p", str(conf.parent), "-c", str(conf)], port), "nginx static file"
    return Service("origin", ["node", str(HERE / "origin.js"), str(port)], port), "node http"


def start_nginx_proxy(work: Path, origin_url: str) -> Service:
    port = free_port()
    nginx = nginx_binary()
    assert nginx, "nginx is not installed"
    # An upstream keepalive pool and HTTP/1.1, so nginx reuses origin connections as edgesim does.
    block = f"""upstream origin {{ server {origin_url.removeprefix('http://')}; keepalive 64; }}
    server {{
        listen {HOST}:{port};
        location / {{ proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection ""; }}
    }}"""
    conf = _nginx_conf(work / "nginx-proxy", block)
    return Service("nginx-proxy", [nginx, "-p", str(conf.parent), "-c", str(conf)], port)


def start_reference_proxy(origin_url: str) -> Service:
    port = free_port()
    argv = [sys.executable, "-m", "benchmarks.reference_proxy", "--port", str(port), "--origin", origin_url]
    return Service("aiohttp-proxy", argv, port, cwd=REPO)


def edgesim_env(source: Path = REPO) -> dict[str, str]:
    """The edgesim in `source` (this checkout by default) first on sys.path, whatever is installed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(source), str(REPO), env.get("PYTHONPATH", "")) if p)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # leave another checkout's tree as it was
    return env


def start_edgesim(config: Path, source: Path = REPO) -> Service:
    """`edgesim serve` for `config`, from the checkout at `source` (--compare runs an older one)."""
    port = free_port()
    argv = [sys.executable, "-c", "from edgesim.cli import main; main()",
            "serve", "--config", str(config), "--port", str(port), "--host", HOST]
    # Lambda@Edge workers start with the server; give a slow machine time to bring them up.
    return Service("edgesim", argv, port, cwd=source, env=edgesim_env(source), start_timeout=60.0)
