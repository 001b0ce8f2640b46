"""KeyValueStore: import-format file, limits at load, get/exists/meta, edits without restart (spec §1.8)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cff_support import call, load, request  # noqa: F401
from edgesim.errors import FunctionCodeError

READER = """import cf from 'cloudfront';
const kvs = cf.kvs();
async function handler(event) {
    const out = {};
    out.s = await kvs.get('greeting');
    out.j = await kvs.get('config', {format: 'json'});
    const bytes = await kvs.get('greeting', {format: 'bytes'});
    out.b = bytes.length;
    out.has = await kvs.exists('greeting');
    out.hasnt = await kvs.exists('nope');
    try { await kvs.get('nope'); out.missing = 'resolved'; } catch (e) { out.missing = 'rejected'; }
    const meta = await kvs.meta();
    out.count = meta.keyCount;
    out.metaKeys = Object.keys(meta).sort();
    console.log(JSON.stringify(out));
    return event.request;
}"""


def store(path: Path, items: dict[str, str]) -> Path:
    path.write_text(json.dumps({"data": [{"key": k, "value": v} for k, v in items.items()]}), encoding="utf-8")
    return path


async def test_get_exists_meta(load, tmp_path: Path) -> None:  # noqa: F811
    kvs = store(tmp_path / "s.json", {"greeting": "héllo", "config": '{"a": 1}'})
    fn = await load(READER, kvs=kvs)
    out = json.loads((await fn.invoke(call())).logs[0])
    assert out == {"s": "héllo", "j": {"a": 1}, "b": 6, "has": True, "hasnt": False, "missing": "rejected",
                   "count": 2, "metaKeys": ["creationDateTime", "keyCount", "lastUpdatedDateTime"]}


async def test_edits_take_effect_without_restart(load, tmp_path: Path) -> None:  # noqa: F811
    kvs = store(tmp_path / "s.json", {"greeting": "one", "config": "{}"})
    fn = await load(READER, kvs=kvs)
    assert json.loads((await fn.invoke(call())).logs[0])["s"] == "one"
    store(kvs, {"greeting": "two!", "config": "{}", "extra": "x"})
    os.utime(kvs, ns=(os.stat(kvs).st_atime_ns, os.stat(kvs).st_mtime_ns + 1_000_000_000))
    out = json.loads((await fn.invoke(call())).logs[0])
    assert (out["s"], out["count"]) == ("two!", 3)


async def test_no_store_associated_throws(load) -> None:  # noqa: F811
    from edgesim.errors import FunctionExecutionError

    fn = await load(READER)
    with pytest.raises(FunctionExecutionError, match="No KeyValueStore is associated"):
        await fn.invoke(call())


@pytest.mark.parametrize("items, message", [
    ({"k" * 513: "v"}, "keys are 1 to 512 bytes"),
    ({"k": "v" * 1025}, "values are at most 1 KB"),
    ({f"k{i}": "v" * 1000 for i in range(5300)}, "at most 5 MB"),
])
async def test_limits_enforced_at_load(load, tmp_path: Path, items: dict[str, str], message: str) -> None:  # noqa: F811
    kvs = store(tmp_path / "s.json", items)
    with pytest.raises(FunctionCodeError, match=message) as info:
        await load(READER, kvs=kvs)
    assert str(kvs) in str(info.value)


async def test_bad_file_shape(load, tmp_path: Path) -> None:  # noqa: F811
    kvs = tmp_path / "s.json"
    kvs.write_text('{"items": []}')
    with pytest.raises(FunctionCodeError, match='"data"'):
        await load(READER, kvs=kvs)


async def test_broken_edit_while_serving_is_a_503_until_fixed(load, tmp_path: Path) -> None:  # noqa: F811
    from edgesim.errors import FunctionExecutionError

    kvs = store(tmp_path / "s.json", {"greeting": "one", "config": "{}"})
    fn = await load(READER, kvs=kvs)
    kvs.write_text("{not json")
    with pytest.raises(FunctionExecutionError, match="KeyValueStore cannot be read"):
        await fn.invoke(call())
    store(kvs, {"greeting": "fixed", "config": "{}"})
    os.utime(kvs, ns=(os.stat(kvs).st_atime_ns, os.stat(kvs).st_mtime_ns + 2_000_000_000))
    assert json.loads((await fn.invoke(call())).logs[0])["s"] == "fixed"
