"""serverless-offline-edge-lambda, the best-known local Lambda@Edge simulator, as a reference stack.

The issue's Lambda@Edge target is a ratio to it ("edgesim with one Lambda@Edge handler should do at
least twice that"), so it is measured in the same run as edgesim, against the same fast origin,
with the same one Node handler (benchmarks/functions/origin_response.js) on the same trigger.

It is installed on demand with npm, outside the repository, into a cache directory that later runs
reuse; the versions are pinned so every run measures the same code. Serverless Framework v4 needs a
login to run at all, v3 does not, hence serverless 3. Without npm, or when the install fails (no
network), the stack is skipped with the reason, as the nginx stack is without nginx.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from benchmarks.edgesim_configs import FUNCTIONS, LAMBDA_NODE_ONE
from benchmarks.processes import HOST, Service, free_port

# Pinned exactly: the reference must be the same code from run to run.
VERSIONS: dict[str, str] = {"serverless": "3.40.0", "serverless-offline-edge-lambda": "1.3.1"}
# The one handler and its trigger are edgesim's one-handler scenario's: the same file, the same
# event. A response trigger, so the header it adds proves it ran.
((EVENT_TYPE, _FILE, _RUNTIME),) = LAMBDA_NODE_ONE
HANDLER = FUNCTIONS / _FILE
INSTALL_TIMEOUT_S = 600.0


def cache_dir() -> Path:
    """Where the npm install lives: $EDGESIM_BENCH_CACHE, else $XDG_CACHE_HOME or ~/.cache, /edgesim-bench/sls."""
    root = os.environ.get("EDGESIM_BENCH_CACHE")
    if root:
        return Path(root) / "sls"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "edgesim-bench" / "sls"


def installed_versions(prefix: Path) -> dict[str, str | None]:
    """The version of each pinned package under prefix/node_modules (None when absent or unreadable)."""
    found: dict[str, str | None] = {}
    for name in VERSIONS:
        try:
            manifest = json.loads((prefix / "node_modules" / name / "package.json").read_text(encoding="utf-8"))
            found[name] = str(manifest["version"])
        except (OSError, ValueError, KeyError, TypeError):
            found[name] = None
    return found


def is_installed(prefix: Path) -> bool:
    return installed_versions(prefix) == VERSIONS and serverless_bin(prefix).is_file()


def serverless_bin(prefix: Path) -> Path:
    # The script itself, run with node: no shell wrapper between the Service and the server process.
    return prefix / "node_modules" / "serverless" / "bin" / "serverless.js"


def npm_install_argv(npm: str, prefix: Path) -> list[str]:
    return [npm, "install", "--prefix", str(prefix), "--save-exact", "--no-audit", "--no-fund",
            "--loglevel=error", *(f"{name}@{version}" for name, version in VERSIONS.items())]


def ensure_installed(prefix: Path, *, may_install: bool = True) -> str | None:
    """Install the pinned versions into prefix unless already there; the reason it cannot, or None."""
    if is_installed(prefix):
        return None
    if not may_install:
        return f"not installed in {prefix} (a full run installs it once, about a minute, with npm)"
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        return "npm/node are not installed"
    prefix.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(npm_install_argv(npm, prefix), capture_output=True, text=True,
                              timeout=INSTALL_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return f"npm install did not finish within {INSTALL_TIMEOUT_S:g} s (no network?)"
    if done.returncode != 0:
        tail = " ".join((done.stderr or done.stdout).split())[-300:]
        return f"npm install failed ({done.returncode}; no network?): {tail}"
    if not is_installed(prefix):
        return f"npm install left {installed_versions(prefix)} instead of {VERSIONS}"
    return None


def _q(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid YAML double-quoted scalar


def serverless_yml(origin_url: str, handler: str = f"functions/{HANDLER.stem}.handler") -> str:
    """One function on one trigger for every path, the fast origin behind it.

    The plugin fetches from `custom.offlineEdgeLambda.originMap` (path pattern -> target URL); a
    CloudFront distribution under `resources` would only fill in the event's `request.origin`, which
    the handler does not read, so there is none. Config validation is off: `lambdaAtEdge` is the
    plugin's key, not the framework's, and v3 would print a warning about it on every start.
    """
    return "\n".join([
        "# Written by benchmarks/sls_reference.py",
        "service: edgesim-bench-reference",
        "frameworkVersion: '3'",
        "configValidationMode: 'off'",
        "plugins:",
        "  - serverless-offline-edge-lambda",
        "provider:",
        "  name: aws",
        f"  runtime: {_RUNTIME}",
        "custom:",
        "  offlineEdgeLambda:",
        "    originMap:",
        "      - pathPattern: '*'",
        f"        target: {_q(origin_url)}",
        "functions:",
        "  bench:",
        f"    handler: {_q(handler)}",
        "    lambdaAtEdge:",
        f"      eventType: {_q(EVENT_TYPE)}",
        "      pathPattern: '*'",
        "",
    ])


def write_service(directory: Path, origin_url: str) -> Path:
    """The serverless service directory: serverless.yml and a copy of the handler under functions/."""
    service = directory / "sls-service"
    (service / "functions").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(HANDLER, service / "functions" / HANDLER.name)
    (service / "serverless.yml").write_text(serverless_yml(origin_url), encoding="utf-8")
    return service


# The plugin calls `server.listen(port)`, which listens on every interface; the benchmark never
# listens anywhere but loopback, so a preloaded shim gives a bare port the host 127.0.0.1.
LOOPBACK_SHIM = f"""// Written by benchmarks/sls_reference.py: listen(port) means listen(port, '{HOST}').
const net = require('net');
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {{
  const port = args[0];
  const barePort = typeof port === 'number' || (typeof port === 'string' && /^\\d+$/.test(port));
  if (barePort && typeof args[1] !== 'string') args.splice(1, 0, '{HOST}');
  return listen.apply(this, args);
}};
"""


def sls_env(shim: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["NODE_OPTIONS"] = f"{env.get('NODE_OPTIONS', '')} --require {shim}".strip()
    # No telemetry, update notices or deprecation banners: nothing but the server, and no network.
    env.update({"SLS_TELEMETRY_DISABLED": "1", "SLS_NOTIFICATIONS_MODE": "off", "SLS_DEPRECATION_DISABLE": "*",
                "SLS_INTERACTIVE_SETUP_DISABLE": "1"})
    return env


def start_sls_reference(work: Path, origin_url: str, prefix: Path) -> Service:
    """`serverless offline start` with the plugin, on 127.0.0.1 and a free port, cache off.

    --disableCache says what edgesim's CachingDisabled scenario does. Serverless 3 does not hand the
    flag to the plugin, but plugin 1.3.1 goes to the origin even on a cache hit, so every request
    reaches the origin either way (it still rewrites its cache file per response: its own cost).
    Its cache and file directories go into `work`, not the shared /tmp/edge-lambda.
    """
    service = write_service(work, origin_url)
    shim = service / "loopback.js"
    shim.write_text(LOOPBACK_SHIM, encoding="utf-8")
    port = free_port()
    # The framework loads hundreds of modules before the plugin listens: give a slow machine time.
    return Service("sls-offline-edge-lambda", sls_argv(work, prefix, port), port, cwd=service,
                   env=sls_env(shim), start_timeout=60.0)


def sls_argv(work: Path, prefix: Path, port: int) -> list[str]:
    return ["node", str(serverless_bin(prefix)), "offline", "start", "--port", str(port), "--disableCache",
            "--cacheDir", str(work / "sls-cache"), "--fileDir", str(work / "sls-files")]
