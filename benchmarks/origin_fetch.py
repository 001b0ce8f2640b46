"""CPU per origin fetch: edgesim's origin client (edgesim/origin_client.py) against aiohttp's.

Both fetch the same small file from the benchmark's fast origin (nginx, or Node's http without
nginx), 16 at a time over kept-alive connections, on uvloop, in this process, alternating rounds;
the figure is the process's CPU time per fetch, which other load on the machine disturbs little.
aiohttp is the client the reference proxy uses (and edgesim used before origin_client.py).

    python -m benchmarks.origin_fetch [--fetches 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from yarl import URL

from benchmarks.stacks import start_origin
from edgesim.config import CustomOrigin
from edgesim.messages import Headers, Request
from edgesim.origin_client import OriginClient

CONCURRENCY = 16
HEADERS = [("Host", "origin.example"), ("User-Agent", "Amazon CloudFront"), ("Via", "2.0 x.cloudfront.net (CloudFront)"),
           ("X-Amz-Cf-Id", "bench"), ("X-Forwarded-For", "203.0.113.10")]


async def _cpu_per_fetch(fetch: Callable[[], Awaitable[bytes]], fetches: int) -> float:
    for _ in range(200):  # connections opened, code warm
        await fetch()

    async def worker(count: int) -> None:
        for _ in range(count):
            await fetch()

    started = time.process_time()
    await asyncio.gather(*(worker(fetches // CONCURRENCY) for _ in range(CONCURRENCY)))
    return (time.process_time() - started) / (fetches // CONCURRENCY * CONCURRENCY) * 1e6


async def edgesim_client(url: str, fetches: int) -> float:
    client, origin = OriginClient(), CustomOrigin(id="fast", url=url)
    request = Request("GET", "/", headers=Headers(HEADERS))

    async def fetch() -> bytes:
        return (await client.fetch(request, origin)).body

    try:
        return await _cpu_per_fetch(fetch, fetches)
    finally:
        await client.aclose()


async def aiohttp_client(url: str, fetches: int) -> float:
    # As edgesim configured it: no decompression, no added headers, no redirects followed.
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256, limit_per_host=64),
                                    auto_decompress=False, trust_env=False,
                                    skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"))
    target = URL(url + "/", encoded=True)
    timeout = aiohttp.ClientTimeout(sock_connect=10, connect=10, sock_read=30)

    async def fetch() -> bytes:
        async with session.request("GET", target, headers=HEADERS, allow_redirects=False, timeout=timeout) as answer:
            return await answer.read()

    try:
        return await _cpu_per_fetch(fetch, fetches)
    finally:
        await session.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fetches", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    import uvloop

    with tempfile.TemporaryDirectory() as work:
        origin, kind = start_origin(Path(work))
        with origin:
            ours, theirs = [], []
            for _ in range(args.rounds):
                ours.append(uvloop.run(edgesim_client(origin.url, args.fetches)))
                theirs.append(uvloop.run(aiohttp_client(origin.url, args.fetches)))
    mine, other = statistics.median(ours), statistics.median(theirs)
    print(f"origin: {kind}; {args.fetches} fetches x {args.rounds} rounds, {CONCURRENCY} at a time")
    print(f"edgesim origin client: {mine:.1f} µs CPU per fetch (rounds: {', '.join(f'{v:.1f}' for v in ours)})")
    print(f"aiohttp client:        {other:.1f} µs CPU per fetch (rounds: {', '.join(f'{v:.1f}' for v in theirs)})")
    print(f"ratio aiohttp / edgesim: {other / mine:.2f}")


if __name__ == "__main__":
    main()
