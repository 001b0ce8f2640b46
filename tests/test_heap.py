"""`edgesim serve` freezes its start-up heap out of the garbage collector's passes (heap.py), and
a reload does not make the replaced distribution immortal."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Callable
from pathlib import Path

import pytest
import uvicorn

import edgesim.server
from edgesim import heap
from edgesim.config import load_config
from edgesim.reload import Reloader
from edgesim.server import free_port, serve
from edgesim.simulator import Simulator

CONFIG = ('[[origins]]\nid = "app"\nurl = "http://127.0.0.1:1"\n\n[default_cache_behavior]\n'
          'target_origin = "app"\ncache_policy = "CachingDisabled"\n')


@pytest.fixture(autouse=True)
def _thawed() -> object:
    yield
    gc.unfreeze()  # whatever a test froze goes back to the collector


async def test_serve_freezes_what_start_up_built_and_thaws_it_when_it_stops(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "edgesim.toml").write_text(CONFIG)
    servers: list[uvicorn.Server] = []

    class Server(edgesim.server._Server):  # serve's, kept at hand to stop it as Ctrl+C does
        def __init__(self, config: uvicorn.Config, say: Callable[[str], None]) -> None:
            super().__init__(config, say)
            servers.append(self)

    monkeypatch.setattr(edgesim.server, "_Server", Server)
    reports: list[str] = []
    async with Simulator(load_config(tmp_path / "edgesim.toml")) as simulator:
        assert gc.get_freeze_count() == 0
        serving = asyncio.create_task(serve(simulator, "127.0.0.1", free_port(), reload=False, report=reports.append))
        for _ in range(500):
            if reports:
                break
            await asyncio.sleep(0.01)
        assert reports and reports[0].startswith("edgesim serving distribution")
        await asyncio.sleep(0)  # the banner is said just before the freeze
        frozen = gc.get_freeze_count()
        servers[0].should_exit = True
        await asyncio.wait_for(serving, 10)
    assert frozen > 10_000  # the modules, classes and distribution start-up made
    assert gc.get_freeze_count() == 0


class _Distribution:
    """Stands for a loaded distribution: objects in a reference cycle, as pipelines and their closures are."""

    def __init__(self) -> None:
        self.me = self


class _Simulator:
    def __init__(self, config_path: Path) -> None:
        self.config = load_config(config_path)
        self.load_problems: list[str] = []
        self.distribution = _Distribution()

    async def reload(self, path: Path) -> None:
        self.config = load_config(path)
        self.distribution = _Distribution()


async def test_a_reload_leaves_the_replaced_distribution_to_the_collector(tmp_path: Path) -> None:
    (tmp_path / "edgesim.toml").write_text(CONFIG)
    simulator = _Simulator(tmp_path / "edgesim.toml")
    old = weakref.ref(simulator.distribution)
    heap.freeze()  # as serve does once started: the first distribution is frozen
    reloader = Reloader(simulator, lambda _: None)  # type: ignore[arg-type]  # what reload() asks of a Simulator
    await reloader.reload({tmp_path / "edgesim.toml"})
    gc.collect()
    assert old() is None  # frozen, its cycle would never have been freed
    assert heap.is_frozen()  # and the new one is frozen in its place
