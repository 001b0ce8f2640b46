"""Bounded HTTP load at a fixed number of keep-alive connections: wrk when installed, else Python.

Both report the same `LoadResult`: requests per second over the measured window, p50 and p99
latency, and how many requests failed (a socket error or a status other than 200).
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit


@dataclass
class LoadResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int

    def to_json(self) -> dict[str, float | int]:
        return asdict(self)


class LoadGenerator:
    """Which generator runs: `wrk` (C, one thread) or the bounded asyncio one below."""

    def __init__(self, prefer_wrk: bool = True) -> None:
        self.wrk = shutil.which("wrk") if prefer_wrk else None

    @property
    def name(self) -> str:
        if self.wrk:
            version = subprocess.run([self.wrk, "-v"], capture_output=True, text=True).stdout.split("\n")[0]
            return f"wrk ({version.split(' [')[0].strip() or 'wrk'}, 1 thread)"
        return "python asyncio (raw sockets, keep-alive; one core, so it caps fast stacks; install wrk)"

    def run(self, url: str, connections: int, duration: float) -> LoadResult:
        if self.wrk:
            return _run_wrk(self.wrk, url, connections, duration)
        return asyncio.run(python_load(url, connections, duration))


# --- wrk --------------------------------------------------------------------------------------

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip())
    if not match:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(out: str) -> LoadResult:
    """Read wrk --latency output: Requests/sec, the 50% and 99% lines, errors and non-2xx."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    total = re.search(r"(\d+) requests in", out)
    if not (rps and p50 and p99 and total):
        raise ValueError(f"could not read wrk output:\n{out}")
    errors = 0
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if sock:
        errors += sum(int(g) for g in sock.groups())
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        errors += int(non2xx.group(1))
    return LoadResult(rps=round(float(rps.group(1)), 1), p50_ms=round(_ms(p50.group(1)), 3),
                      p99_ms=round(_ms(p99.group(1)), 3), requests=int(total.group(1)), errors=errors)


def _run_wrk(wrk: str, url: str, connections: int, duration: float) -> LoadResult:
    # One thread: on a 2-core machine the server under test needs the other core.
    argv = [wrk, "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency", "--timeout", "5s", url]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 30)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


# --- the Python fallback ----------------------------------------------------------------------


async def _read_body(reader: asyncio.StreamReader, head: bytes) -> bool:
    """Consume the body the head announces; return whether the connection stays open."""
    lower = head.lower()
    length = re.search(rb"\r\ncontent-length:\s*(\d+)", lower)
    if length:
        await reader.readexactly(int(length.group(1)))
    elif b"\r\ntransfer-encoding: chunked" in lower:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return b"\r\nconnection: close" not in lower


async def _connection(host: str, port: int, path: str, deadline: float, latencies: list[float],
                      errors: list[int]) -> None:
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: edgesim-bench\r\n\r\n".encode()
    writer: asyncio.StreamWriter | None = None
    while time.perf_counter() < deadline:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            start = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            keep = await _read_body(reader, head)
            latencies.append(time.perf_counter() - start)
            if not head.startswith(b"HTTP/1.1 200"):
                errors[0] += 1
            if not keep:
                writer.close()
                writer = None
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            errors[0] += 1
            if writer is not None:
                writer.close()
            writer = None
            await asyncio.sleep(0.01)
    if writer is not None:
        writer.close()


async def python_load(url: str, connections: int, duration: float) -> LoadResult:
    """`connections` keep-alive connections, each sending GETs back to back for `duration` seconds."""
    parts = urlsplit(url)
    host, port, path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path or "/"
    latencies: list[float] = []
    errors = [0]
    start = time.perf_counter()
    deadline = start + duration
    await asyncio.gather(*(_connection(host, port, path, deadline, latencies, errors) for _ in range(connections)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    if not latencies:
        return LoadResult(rps=0.0, p50_ms=0.0, p99_ms=0.0, requests=0, errors=errors[0])

    def pct(q: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 3)

    return LoadResult(rps=round(len(latencies) / elapsed, 1), p50_ms=pct(0.50), p99_ms=pct(0.99),
                      requests=len(latencies), errors=errors[0])
