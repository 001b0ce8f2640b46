"""The edge cache's disk cap, `distribution.cache_disk_limit_mb` (cache.py, cache_files.py): the
bytes of cached bodies kept in files, least recently used evicted first; an object larger than the
whole cap served but not cached (said in the request's trace), a streamed one no longer written to
disk once past it; the cap typed in the config, in `edgesim schema`, and applied on reload.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from edgesim.cache import EdgeCache
from edgesim.cache_key import CacheKey
from edgesim.messages import Headers, Response
from edgesim.testing import Distribution

from test_cache_files import BigOrigin, big_origin, bodies_in, cache_tmp, site  # noqa: F401 - fixtures
from test_directory_streaming import write_file

MB = 1 << 20


def bytes_on_disk(where: Path) -> int:
    total = 0
    for file in bodies_in(where):
        try:
            total += file.stat().st_size
        except FileNotFoundError:  # given up between the listing and the stat
            pass
    return total


def site_with_disk(root: Path, disk_mb: int) -> dict[str, object]:
    config = site(root, mb=1)
    config["distribution"] = {"cache_memory_limit_mb": 1, "cache_disk_limit_mb": disk_mb}
    return config


async def test_the_disk_cap_evicts_the_least_recently_used_files(tmp_path: Path, cache_tmp: Path) -> None:  # noqa: F811
    root = tmp_path / "site"
    root.mkdir()
    for name in "abc":
        write_file(root / f"{name}.bin", 3 * MB, seed=name.encode())
    (root / "small.txt").write_text("small")
    async with Distribution(site_with_disk(root, 7)) as d:
        assert d.simulator is not None and d.simulator.cache is not None
        cache = d.simulator.cache
        for path in ("/a.bin", "/b.bin", "/small.txt", "/a.bin", "/c.bin"):  # a used again: b is the least recent
            await d.get(path)
        # 9 MB of files do not fit in 7 MiB: b's went; the object in memory is no part of the cap.
        sizes = sorted(f.stat().st_size for f in bodies_in(cache_tmp))
        disk_used = cache.disk_used
        xcache = {p: (await d.get(p)).headers["x-cache"] for p in ("/a.bin", "/c.bin", "/small.txt", "/b.bin")}
    assert sizes == [3 * MB, 3 * MB] and disk_used == 6 * MB
    assert xcache == {"/a.bin": "Hit from cloudfront", "/c.bin": "Hit from cloudfront",
                      "/small.txt": "Hit from cloudfront", "/b.bin": "Miss from cloudfront"}


async def test_an_object_larger_than_the_disk_cap_is_served_but_not_cached(
        tmp_path: Path, cache_tmp: Path) -> None:  # noqa: F811
    root = tmp_path / "site"
    root.mkdir()
    write_file(root / "big.bin", 5 * MB)
    write_file(root / "fits.bin", 3 * MB, seed=b"f")
    data = (root / "big.bin").read_bytes()
    async with Distribution(site_with_disk(root, 4)) as d:
        await d.get("/fits.bin")
        first = await d.get("/big.bin")
        notes = d.last_trace.notes
        files = bodies_in(cache_tmp)
        second = await d.get("/big.bin")
        fits = await d.get("/fits.bin")
    assert (first.status_code, first.content) == (200, data)
    assert "not cached: the object is larger than cache_disk_limit_mb (4 MiB)" in notes
    assert len(files) == 1  # only fits.bin's: big.bin's spool was given up, and evicted nothing
    assert (second.headers["x-cache"], second.content) == ("Miss from cloudfront", data)
    assert fits.headers["x-cache"] == "Hit from cloudfront"


async def test_over_a_socket_a_chunked_object_past_the_cap_is_served_whole_and_not_kept(
        big_origin: tuple[str, BigOrigin], cache_tmp: Path) -> None:  # noqa: F811
    url, origin = big_origin  # 12 MB, chunked: its size is known only at its end
    config = {"distribution": {"cache_memory_limit_mb": 1, "cache_disk_limit_mb": 2},
              "origins": [{"id": "app", "url": url}],
              "default_cache_behavior": {"target_origin": "app", "cache_policy": "CachingOptimized"}}
    async with Distribution(config, socket=True) as d:
        async with httpx.AsyncClient(base_url=d.url, timeout=30) as client:
            first = await client.get("/big.bin")
            left = bytes_on_disk(cache_tmp)
            again = await client.get("/big.bin")
    assert first.content == origin.body and again.content == origin.body
    assert left == 0 and again.headers["x-cache"] == "Miss from cloudfront"


def test_a_spool_past_the_cap_stops_writing_and_keeps_nothing(cache_tmp: Path) -> None:  # noqa: F811
    cache = EdgeCache(max_memory=MB, max_disk=2 * MB)
    kept: list[object] = []
    notes: list[str] = []
    spool = cache.spool(kept.append, notes)
    written = []
    for _ in range(12):  # 6 MB in 512 KiB chunks
        spool.add(b"s" * (MB // 2))
        written.append(bytes_on_disk(cache_tmp))
    spool.complete()
    # In memory up to the 1 MiB budget, then in a file up to the 2 MiB cap, then given up.
    assert written == [0, 0, 1536 << 10, 2 * MB, 0, 0, 0, 0, 0, 0, 0, 0]
    assert kept == [] and notes == ["not cached: the object is larger than cache_disk_limit_mb (2 MiB)"]
    cache.close()


def test_a_whole_body_larger_than_the_cap_is_not_stored_and_the_cap_follows_a_reload(cache_tmp: Path) -> None:  # noqa: F811
    cache = EdgeCache(max_memory=MB, max_disk=4 * MB)
    for name in ("a", "b"):
        cache.store(CacheKey("h", "GET", f"/{name}"), Response(200, Headers(), name.encode() * (2 * MB)), 60)
    notes: list[str] = []
    too_big = cache.store(CacheKey("h", "GET", "/big"), Response(200, Headers(), b"x" * (5 * MB)), 60, notes=notes)
    assert too_big is None and notes == ["not cached: the object is larger than cache_disk_limit_mb (4 MiB)"]
    assert cache.disk_used == 4 * MB and len(bodies_in(cache_tmp)) == 2
    cache.limit_disk(3 * MB)  # a reloaded config's smaller cap: the least recent goes
    assert cache.disk_used == 2 * MB and cache.lookup(CacheKey("h", "GET", "/a")).entry is None
    assert [p.stat().st_size for p in bodies_in(cache_tmp)] == [2 * MB]
    cache.close()


def test_the_disk_cap_is_a_distribution_setting_validated_at_load_and_in_the_schema() -> None:
    from edgesim.config import parse_config
    from edgesim.config_schema import config_schema
    from edgesim.errors import ConfigError

    base = {"origins": [{"id": "o", "url": "http://127.0.0.1:9"}], "default_cache_behavior": {"target_origin": "o"}}
    assert parse_config(base, base_dir=Path("/")).distribution.cache_disk_limit_mb == 2048
    with pytest.raises(ConfigError, match="cache_disk_limit_mb"):
        parse_config({**base, "distribution": {"cache_disk_limit_mb": 0}}, base_dir=Path("/"))
    field = config_schema()["$defs"]["DistributionSettings"]["properties"]["cache_disk_limit_mb"]
    assert (field["type"], field["default"], field["minimum"]) == ("integer", 2048, 1)
    assert "served but not cached" in field["description"]
    assert EdgeCache().max_disk == 2048 * MB


async def test_a_reload_applies_the_new_disk_cap(tmp_path: Path, cache_tmp: Path) -> None:  # noqa: F811
    root = tmp_path / "site"
    root.mkdir()
    write_file(root / "big.bin", 3 * MB)
    config_file = tmp_path / "edgesim.toml"
    body = (f'[distribution]\ncache_memory_limit_mb = 1\nclear_cache_on_reload = false\n'
            f'[[origins]]\nid = "site"\ndirectory = "{root}"\n'
            '[default_cache_behavior]\ntarget_origin = "site"\ncache_policy = "CachingOptimized"\n')
    config_file.write_text(body)
    async with Distribution(config_file) as d:
        assert d.simulator is not None and d.simulator.cache is not None
        await d.get("/big.bin")
        kept = len(bodies_in(cache_tmp))
        config_file.write_text(body.replace("clear_cache_on_reload = false\n",
                                            "clear_cache_on_reload = false\ncache_disk_limit_mb = 2\n"))
        await d.simulator.reload(config_file)
        after = len(bodies_in(cache_tmp))
        max_disk = d.simulator.cache.max_disk
    assert (kept, after, max_disk) == (1, 0, 2 * MB)
