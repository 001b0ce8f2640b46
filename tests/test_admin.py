"""The loopback-only admin route that invalidates the cache; functions never see it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from conftest import FakeFunction, FakeLoader, build_config, origin_app
from edgesim.app import EdgeApp
from edgesim.simulator import Simulator


async def make(tmp_path: Path, client_ip: str, registry: dict[str, FakeFunction]) -> tuple[Simulator, httpx.AsyncClient]:
    fns = tmp_path / "fns"
    fns.mkdir(exist_ok=True)
    (fns / "vr.js").write_text("function handler(event) { return event.request; }\n")
    config = build_config({"origins": [{"id": "app", "url": "http://app.internal"}],
                           "default_cache_behavior": {"target_origin": "app", "functions": {
                               "viewer-request": {"cloudfront_function": "fns/vr.js"}}}}, tmp_path)
    simulator = Simulator(config, transports={"app": httpx.ASGITransport(app=origin_app())},
                          loader_factory=lambda: FakeLoader(registry))
    await simulator.start()
    transport = httpx.ASGITransport(app=EdgeApp(simulator), client=(client_ip, 5000))
    return simulator, httpx.AsyncClient(transport=transport, base_url="http://d111111abcdef8.cloudfront.net")


async def test_invalidate_route(tmp_path: Path) -> None:
    registry: dict[str, FakeFunction] = {}
    simulator, client = await make(tmp_path, "127.0.0.1", registry)
    async with simulator, client:
        await client.get("/images/a.jpg")
        await client.get("/images/b.jpg")
        r = await client.post("/__edgesim/invalidate", json={"paths": ["/images/*"]})
        assert r.status_code == 200 and r.json()["invalidated"] == 2
        assert len(registry["vr"].calls) == 2  # the admin route never reached the function
        assert (await client.get("/images/a.jpg")).headers["x-cache"] == "Miss from cloudfront"
        bad: Any = await client.post("/__edgesim/invalidate", json={"paths": ["/a*b"]})
        assert bad.status_code == 400 and "last character" in bad.json()["error"]
        assert (await client.post("/__edgesim/invalidate", content=b"nope")).status_code == 400


async def test_invalidate_route_refuses_non_loopback(tmp_path: Path) -> None:
    simulator, client = await make(tmp_path, "192.0.2.9", {})
    async with simulator, client:
        await client.get("/a")
        r = await client.post("/__edgesim/invalidate", json={"paths": ["/*"]})
        assert r.status_code == 403
        assert (await client.get("/a")).headers["x-cache"] == "Hit from cloudfront"
