"""benchmarks/instructions.py's parts that run without valgrind: the totals it reads, the client
that sends the exact number of requests it divides by, and the difference it takes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from benchmarks import instructions


def test_the_event_loop_threads_totals_are_read_from_callgrinds_first_thread_file(tmp_path: Path) -> None:
    out = tmp_path / "callgrind.out"
    (tmp_path / "callgrind.out-01").write_text("version: 1\ncmd: python\nevents: Ir\nsummary: 9\ntotals: 123456\n")
    (tmp_path / "callgrind.out-02").write_text("events: Ir\ntotals: 999\n")  # V8's thread: not counted
    assert instructions._main_thread(out) == 123456


async def _server(answers: list[bytes]) -> tuple[asyncio.Server, int, list[int]]:
    """A server answering each GET with the next of `answers` (the last one repeated); counts requests."""
    seen = [0]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(answers[min(seen[0], len(answers) - 1)])
                seen[0] += 1
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], seen


def test_the_client_sends_exactly_the_requests_it_is_told_and_reads_each_answer_whole() -> None:
    async def main() -> int:
        ok = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Cache: Miss\r\n\r\nhello"
        server, port, seen = await _server([ok])
        async with server:
            await instructions._client(port, 48, 16)
        return seen[0]

    assert asyncio.run(main()) == 48


def test_the_client_stops_at_an_answer_that_is_not_200() -> None:
    async def main() -> None:
        server, port, _ = await _server([b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n"])
        async with server:
            await instructions._client(port, 4, 1)

    with pytest.raises(SystemExit, match="502 Bad Gateway"):
        asyncio.run(main())


def test_per_request_is_the_difference_of_two_runs_over_the_requests_between_them(monkeypatch: pytest.MonkeyPatch) -> None:
    # Start-up and warm-up cost 1,000,000 in both runs; each request 700.
    monkeypatch.setattr(instructions, "_count_in_process", lambda source, scenario, n, c: 1_000_000 + 700 * n)
    assert instructions.per_request(Path("."), "cff", 160, 16, None) == 700
