"""Shared test helpers: configs written in the test, a fake runtime at the EdgeFunction seam,
and origins that are small ASGI apps reached through httpx's ASGITransport."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from edgesim.config import DistributionConfig, DistributionSettings, parse_config
from edgesim.messages import EventType, Headers, Response
from edgesim.runtime import TriggerCall, TriggerResult
from edgesim.testing import Distribution

pytest_plugins = ["pytester"]

Behaviour = Callable[[TriggerCall], Awaitable[TriggerResult] | TriggerResult]


@dataclass
class FakeFunction:
    """A function at the seam: counts its calls and does what the test says."""

    name: str
    kind: str
    behaviour: Behaviour | None = None
    calls: list[TriggerCall] = field(default_factory=list)

    async def invoke(self, call: TriggerCall) -> TriggerResult:
        self.calls.append(call)
        if self.behaviour is None:
            if call.event_type.is_request:
                return TriggerResult(request=call.request)
            return TriggerResult(response=call.response)
        result = self.behaviour(call)
        if not isinstance(result, TriggerResult):
            result = await result
        return result

    async def aclose(self) -> None:
        return None


class FakeLoader:
    """Loads FakeFunctions by association name; the test registers behaviours beforehand."""

    def __init__(self, registry: dict[str, FakeFunction]) -> None:
        self.registry = registry

    async def load(self, assoc: Any, event_type: EventType, settings: DistributionSettings) -> FakeFunction:
        function = self.registry.get(assoc.name)
        if function is None:
            function = self.registry[assoc.name] = FakeFunction(assoc.name, assoc.kind)
        return function

    async def aclose(self) -> None:
        return None


# The smallest distribution: one HTTP origin "api" behind the default behavior (as a TOML file).
API_CONFIG = """
[[origins]]
id = "api"
url = "http://api.example.com"

[default_cache_behavior]
target_origin = "api"
"""


def origin_app(routes: dict[str, tuple[int, dict[str, str], bytes]] | None = None,
               seen: list[dict[str, Any]] | None = None) -> Callable[..., Awaitable[None]]:
    """A tiny ASGI origin: answers each path from `routes` (default 200 'origin <path>') and
    records every request it got in `seen`."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if seen is not None:
            seen.append({"method": scope["method"], "path": scope["path"],
                         "query": scope["query_string"].decode(),
                         "headers": Headers((k.decode(), v.decode()) for k, v in scope["headers"]),
                         "body": body})
        status, headers, payload = (routes or {}).get(scope["path"], (200, {"content-type": "text/plain"},
                                                                      f"origin {scope['path']}".encode()))
        await send({"type": "http.response.start", "status": status,
                    "headers": [(k.encode(), v.encode()) for k, v in headers.items()]})
        await send({"type": "http.response.body", "body": payload})

    return app


@pytest.fixture
def fn_dir(tmp_path: Path) -> Path:
    """Files the config's function associations point at (the fake runtime never reads them)."""
    d = tmp_path / "fns"
    d.mkdir()
    for name in ("vr", "vresp", "oreq", "oresp"):
        (d / f"{name}.js").write_text("function handler(event) { return event.request; }\n")
        (d / f"{name}.py").write_text("def handler(event, context):\n    return event\n")
    return d


def build_config(data: dict[str, Any], base_dir: Path) -> DistributionConfig:
    return parse_config(data, base_dir=base_dir)


class Harness:
    """A distribution over a config (edgesim.testing), its fake functions, and a client through it."""

    def __init__(self, distribution: Distribution, functions: dict[str, FakeFunction], client: httpx.AsyncClient) -> None:
        assert distribution.simulator is not None
        self.distribution = distribution
        self.simulator = distribution.simulator
        self.functions = functions
        self.client = client


@pytest.fixture
async def harness_factory() -> AsyncIterator[Callable[..., Awaitable[Harness]]]:
    """Distributions with the fake runtime, built with the public testing API."""
    opened: list[tuple[Distribution, httpx.AsyncClient]] = []

    async def make(config: DistributionConfig, transports: dict[str, httpx.AsyncBaseTransport] | None = None,
                   functions: dict[str, FakeFunction] | None = None) -> Harness:
        registry = functions if functions is not None else {}
        distribution = Distribution(config, origins=transports, loader_factory=lambda: FakeLoader(registry))
        await distribution.start()
        client = distribution.client()
        opened.append((distribution, client))
        return Harness(distribution, registry, client)

    yield make
    for distribution, client in opened:
        await client.aclose()
        await distribution.aclose()


def response_of(status: int, body: bytes = b"", **headers: str) -> Response:
    return Response(status, Headers(headers.items()), body)
