"""`edgesim serve --inspect`: Lambda@Edge workers a debugger can attach to.

Node.js workers start with the Node inspector, Python workers under debugpy (when it is
importable), each on a port of its own on 127.0.0.1 only: a debugger can run any code in the
process it attaches to, so the port is never offered to another interface, whatever `--host` says.

A handler keeps its port for as long as edgesim serves: a hot reload builds new workers, and the
new worker of a handler takes the port over from the old one (which is ended first, since two
processes cannot listen on one port). While inspecting, each handler has one warm worker, so the
process the debugger is attached to is the one every request reaches, and the Lambda@Edge time
limits are lifted (a handler paused at a breakpoint must not be killed for it): a departure from
CloudFront the banner and the request log both state.
"""

from __future__ import annotations

import asyncio
import functools
import json
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from edgesim.errors import ViewerError
from edgesim.lambda_edge.runtime import LambdaEdgeFunction
from edgesim.request_log import TIME_LIMITS_OFF

if TYPE_CHECKING:
    from edgesim.lambda_edge.workers import Worker, WorkerSpec
    from edgesim.runtime import EdgeFunction

INSPECT_HOST = "127.0.0.1"  # never another interface: secure by default
DEFAULT_BASE_PORT = 9229  # Node's own default inspector port
# The deadline a wait gets when time limits are off: about 31 years, so the watchdog's arithmetic
# stays finite (an event loop's timer takes no infinity).
NO_TIME_LIMIT_S = 1e9
DEBUGPY_HINT = "pip install debugpy to debug Python handlers under --inspect"


@functools.lru_cache(maxsize=1)
def debugpy_available() -> bool:
    """Whether a Python worker can import debugpy: asked of a child with a worker's environment
    (no PYTHONPATH of the developer's), since that is where it must import."""
    try:
        done = subprocess.run([sys.executable, "-c", "import debugpy"], capture_output=True, timeout=30,
                              env={"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"})
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def _port_free(port: int) -> bool:
    """Whether 127.0.0.1:port can be listened on now. SO_REUSEADDR as Node's libuv and debugpy bind
    with: a port a closed listener left in TIME_WAIT is free for them."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((INSPECT_HOST, port))
        except OSError:
            return False
    return True


class Inspector:
    """The debugger ports of a distribution's handlers, kept across reloads (the simulator owns it)."""

    def __init__(self, base_port: int = DEFAULT_BASE_PORT) -> None:
        self.base_port = base_port
        # (language, file, function, memory) -> port: what a reload keeps. Memory is part of it
        # because a handler associated with two memory sizes runs in two pools, so two processes.
        self._ports: dict[tuple[str, Path, str, int], int] = {}
        self._names: dict[int, tuple[str, str]] = {}  # port -> (language, "file:function")
        self._holders: dict[int, Worker] = {}  # port -> the worker started on it last
        self._next = base_port
        self.skipped: list[int] = []  # ports passed over because something else listened on them

    def port_for(self, spec: WorkerSpec) -> int | None:
        """The handler's port, assigned on first sight (the next free one); None for a Python
        handler when debugpy cannot be imported."""
        if spec.language == "python" and not debugpy_available():
            return None
        key = (spec.language, spec.path, spec.function, spec.memory)
        port = self._ports.get(key)
        if port is None:
            while self._next <= 65535 and (self._next in self._names or not _port_free(self._next)):
                if self._next not in self._names:
                    self.skipped.append(self._next)
                self._next += 1
            if self._next > 65535:
                return None  # no port left above --inspect-port: this handler runs undebugged
            port = self._ports[key] = self._next
            self._names[port] = (spec.language, f"{spec.path}:{spec.function}")
            self._next += 1
        return port

    async def warm(self, functions: Iterable[EdgeFunction]) -> None:
        """Start the Lambda@Edge functions' workers: Node.js ones first, so that they get the first
        ports (9229 is Node's own), then Python ones. One that cannot start fails its requests as usual."""
        lambdas = [f for f in functions if isinstance(f, LambdaEdgeFunction)]
        for language in ("node", "python"):
            await asyncio.gather(*(_warm(f) for f in lambdas if f.assoc.language == language))

    async def claim(self, port: int, worker: Worker) -> None:
        """Make `worker` the port's listener: the worker that held it (an older version's, after a
        reload, or one that died) is ended first, so the new one can bind it."""
        previous = self._holders.get(port)
        self._holders[port] = worker
        if previous is not None and previous is not worker:
            await previous.kill()

    @property
    def ports(self) -> dict[int, tuple[str, str]]:
        """Every assigned port -> (language, "file:function"), in the order assigned."""
        return dict(self._names)

    async def banner_lines(self, python_handlers: bool) -> list[str]:
        """What the serve banner says: time limits off, then per handler where to attach."""
        lines = [f"  inspecting Lambda@Edge handlers: debuggers on {INSPECT_HOST} only, one warm worker per handler",
                 f"    {TIME_LIMITS_OFF}: a handler paused at a breakpoint is not stopped at its timeout, "
                 "as CloudFront would stop it"]
        if self.skipped:
            lines.append(f"    ports {', '.join(map(str, self.skipped))} were in use: skipped")
        for port, (language, where) in self._names.items():
            lines.append(f"    {where}  {await _address(language, port)}")
            if language == "node":
                lines.append(f"      open chrome://inspect or attach VS Code to {INSPECT_HOST}:{port}")
            else:
                lines.append(f"      attach VS Code (Python Debugger: Remote Attach) to {INSPECT_HOST}:{port}")
        if python_handlers and not debugpy_available():
            lines.append(f"    {DEBUGPY_HINT}")
        return lines

    async def reload_lines(self) -> list[str]:
        """After a reload: each handler's new worker, back on its port (a Node worker's ws:// URL is
        new, a debugger attached by port reattaches)."""
        return [f"  {where}: debugger back on {await _address(language, port)}"
                for port, (language, where) in self._names.items()
                if (holder := self._holders.get(port)) is not None and holder.alive]  # not a handler now gone


async def _warm(function: LambdaEdgeFunction) -> None:
    try:
        await function.warm()
    except ViewerError:
        pass


async def _address(language: str, port: int) -> str:
    if language != "node":
        return f"debugpy on {INSPECT_HOST}:{port}"
    ws = await asyncio.to_thread(node_inspector_url, port)
    return f"node inspector {ws}" if ws else f"node inspector not answering on {INSPECT_HOST}:{port}"


def node_inspector_url(port: int, timeout: float = 2.0) -> str | None:
    """The worker's `ws://` debugger URL, from its inspector's /json/list; None when it does not answer."""
    try:
        with urllib.request.urlopen(f"http://{INSPECT_HOST}:{port}/json/list", timeout=timeout) as answer:
            targets = json.load(answer)
    except (OSError, ValueError):
        return None
    for target in targets if isinstance(targets, list) else []:
        url = target.get("webSocketDebuggerUrl") if isinstance(target, dict) else None
        if isinstance(url, str):
            return url
    return None


def debugger_argv(spec: WorkerSpec, port: int) -> list[str]:
    """What opens the debugger port: node's option (before the shim's path), or the Python shim's
    own (after it): the shim has debugpy listen before the handler loads, as `python -m debugpy
    --listen` would, which a worker started with `python -S` cannot run (workers.interpreter_argv)."""
    if spec.language == "node":
        return [f"--inspect={INSPECT_HOST}:{port}"]
    return [f"--debugpy={INSPECT_HOST}:{port}"]
