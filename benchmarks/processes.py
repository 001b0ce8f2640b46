"""Start a server process on 127.0.0.1, wait until it listens, stop it; read its memory from /proc.

Every stack the benchmark measures is one or more child processes. A `Service` owns one: the ready
wait races the process's exit (a broken start fails at once with its output, never hangs), and
leaving the `with` block always stops it (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

HOST = "127.0.0.1"  # the benchmark never listens anywhere else


class ServiceError(RuntimeError):
    """A service did not start; the message carries the tail of its output."""


def free_port() -> int:
    """A port nobody listens on right now (bind to 0 on loopback and let the kernel pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _listening(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.2):
            return True
    except OSError:
        return False


class Service:
    """One child process listening on HOST:port, with its output in a temp log file."""

    def __init__(self, name: str, argv: Sequence[str], port: int, *, cwd: Path | None = None,
                 env: dict[str, str] | None = None, start_timeout: float = 20.0) -> None:
        self.name = name
        self.argv = list(argv)
        self.port = port
        self.cwd = cwd
        self.env = env
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self._log = tempfile.NamedTemporaryFile(prefix=f"bench-{name}-", suffix=".log", delete=False)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None, "service not started"
        return self.proc.pid

    def output(self, limit: int = 2000) -> str:
        text = Path(self._log.name).read_text(encoding="utf-8", errors="replace")
        return text[-limit:]

    def __enter__(self) -> Service:
        # A session of its own, so stopping the service also reaches whatever it spawned
        # (nginx workers, Lambda@Edge workers) and nothing else.
        self.proc = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                message = f"{self.name} exited with {code} before listening:\n{self.output()}"
                self._stop()
                raise ServiceError(message)
            if _listening(self.port):
                return self
            time.sleep(0.05)
        message = f"{self.name} did not listen on {HOST}:{self.port} within {self.start_timeout:g} s:\n{self.output()}"
        self._stop()
        raise ServiceError(message)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop()

    def _stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                _signal_group(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        # Children that outlived a clean parent exit (a worker mid-shutdown) go with the group.
        _signal_group(proc.pid, signal.SIGKILL)
        self._log.close()
        Path(self._log.name).unlink(missing_ok=True)
        self.proc = None


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)  # the group id is the child's pid: start_new_session made it a leader
    except (ProcessLookupError, PermissionError):
        pass


# --- memory, from /proc -----------------------------------------------------------------------


def _status_kb(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def descendants(pid: int) -> list[int]:
    """Every live descendant of pid, from /proc/<pid>/task/*/children, breadth first."""
    found: list[int] = []
    queue = [pid]
    while queue:
        parent = queue.pop(0)
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                kids = [int(k) for k in (task / "children").read_text().split()]
            except (OSError, ValueError):
                continue
            for kid in kids:
                if kid not in found:
                    found.append(kid)
                    queue.append(kid)
    return found


def memory_of(pid: int) -> dict[str, object]:
    """Peak RSS (VmHWM, the kernel's high-water mark) and current RSS of one process, in MB."""
    hwm = _status_kb(pid, "VmHWM")
    rss = _status_kb(pid, "VmRSS")
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        cmdline = "?"
    return {
        "pid": pid,
        "cmd": cmdline[:120],
        "peak_rss_mb": None if hwm is None else round(hwm / 1024, 1),
        "rss_mb": None if rss is None else round(rss / 1024, 1),
    }


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of pid and all its live descendants, from /proc/<pid>/stat."""
    total = 0
    for each in (pid, *descendants(pid)):
        try:
            stat = Path(f"/proc/{each}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # the command name may hold spaces: split after it
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / _TICK
