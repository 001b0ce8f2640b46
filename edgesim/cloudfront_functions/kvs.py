"""A KeyValueStore from a JSON file in CloudFront's import format, with its limits (spec §1.8).

`{"data": [{"key": "k1", "value": "v1"}, ...]}`. The file is re-read when it changes on disk, so
edits take effect on the next request without a restart.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from edgesim.docs_links import cite
from edgesim.errors import FunctionCodeError

MAX_KEY_BYTES = 512  # spec §1.8 (the docs are stricter than the API's 1024)
MAX_VALUE_BYTES = 1024
MAX_STORE_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class StoreSnapshot:
    version: tuple[int, int]  # (mtime_ns, size): changes when the file does
    data_json: str  # {"key": "value", ...}
    meta_json: str  # {creationDateTime, lastUpdatedDateTime, keyCount}


class KeyValueStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._snapshot: StoreSnapshot | None = None
        self._created = datetime.now(timezone.utc)

    def snapshot(self) -> StoreSnapshot:
        """The current contents; re-reads the file only when its mtime or size changed."""
        try:
            stat = os.stat(self.path)
        except OSError as exc:
            raise FunctionCodeError(f"cannot read KeyValueStore: {exc.strerror}", file=str(self.path),
                                    code="KeyValueStoreNotFound") from None
        version = (stat.st_mtime_ns, stat.st_size)
        if self._snapshot is None or self._snapshot.version != version:
            data = load_store(self.path)
            updated = datetime.fromtimestamp(stat.st_mtime, timezone.utc)
            meta = {
                "creationDateTime": _iso(min(self._created, updated)),
                "lastUpdatedDateTime": _iso(updated),
                "keyCount": len(data),
            }
            self._snapshot = StoreSnapshot(version, json.dumps(data), json.dumps(meta))
        return self._snapshot


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def load_store(path: Path) -> dict[str, str]:
    """Parse and check a store file; every problem names the file and the entry."""
    file = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FunctionCodeError(f"cannot read KeyValueStore: {exc.strerror}", file=file) from None
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise FunctionCodeError(f"KeyValueStore is not valid JSON: {exc}", file=file) from None
    items = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise FunctionCodeError('a KeyValueStore file must be {"data": [{"key": ..., "value": ...}, ...]} '
                               f"({cite('kvs-with-functions-create-s3-kvp')})", file=file)
    data: dict[str, str] = {}
    total = 0
    for i, item in enumerate(items):
        where = f"data[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("key"), str) or not isinstance(item.get("value"), str):
            raise FunctionCodeError(f"{where}: each entry needs a string key and a string value", file=file)
        key, value = item["key"], item["value"]
        key_bytes, value_bytes = len(key.encode("utf-8")), len(value.encode("utf-8"))
        if not 1 <= key_bytes <= MAX_KEY_BYTES:
            raise FunctionCodeError(f"{where}: key is {key_bytes} bytes; keys are 1 to {MAX_KEY_BYTES} bytes "
                                    f"({cite('cloudfront-limits')})", file=file)
        if value_bytes > MAX_VALUE_BYTES:
            raise FunctionCodeError(f"{where} ({key!r}): value is {value_bytes} bytes; values are at most 1 KB "
                                    f"({cite('cloudfront-limits')})", file=file)
        total += key_bytes + value_bytes
        data[key] = value
    if total > MAX_STORE_BYTES:
        raise FunctionCodeError(f"store holds {total} bytes of keys and values; a KeyValueStore holds at most 5 MB "
                                f"({cite('cloudfront-limits')})", file=file)
    return data
