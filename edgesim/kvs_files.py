"""A test's private copy of a KeyValueStore file, editable entry by entry.

The file keeps CloudFront's import format (`{"data": [{"key": ..., "value": ...}]}`, spec §1.8), so
the CloudFront Functions runtime reads an edited copy exactly as it reads the user's file: it
re-reads a store when its mtime or size changes, on the next request.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator, Mapping, MutableMapping
from pathlib import Path

from edgesim.docs_links import cite


def _check_item(key: object, value: object) -> None:
    __tracebackhide__ = True
    for part in (key, value):
        if not isinstance(part, str):
            kind = type(part).__name__
            raise TypeError(f"KeyValueStore keys and values are strings, not {part!r} ({'an' if kind[0] in 'aeiou' else 'a'} "
                            f"{kind}) for key {key!r}; write store[{str(key)!r}] = {str(value)!r} "
                            f"({cite('kvs-with-functions-create-s3-kvp')})")


class KvsFile(MutableMapping[str, str]):
    """A KeyValueStore file as a dict; every change is written through at once."""

    def __init__(self, path: Path, original: bytes) -> None:
        self.path = path
        self._original = original

    @classmethod
    def private_copy(cls, original: Path, workdir: Path) -> KvsFile:
        """Copy `original` into `workdir` under a name stable for that file, so the same store gets
        the same copy path in every test of a session (and warm functions stay valid)."""
        digest = hashlib.sha1(str(original).encode()).hexdigest()[:10]
        path = workdir / f"{original.stem}-{digest}{original.suffix}"
        workdir.mkdir(parents=True, exist_ok=True)
        try:
            content = original.read_bytes()
        except OSError as exc:
            raise FileNotFoundError(f"cannot read KeyValueStore {original}: {exc.strerror}") from None
        store = cls(path, content)
        store._write_bytes(content)
        return store

    @property
    def name(self) -> str:
        return self.path.stem.rsplit("-", 1)[0]

    def _load(self) -> dict[str, str]:
        doc = json.loads(self.path.read_bytes())
        items = doc.get("data") if isinstance(doc, dict) else None
        if not isinstance(items, list):
            raise ValueError(f"{self.path}: not a KeyValueStore file; expected "
                             '{"data": [{"key": ..., "value": ...}]} '
                             f"({cite('kvs-with-functions-create-s3-kvp')})")
        return {str(item["key"]): str(item["value"]) for item in items}

    def _save(self, data: Mapping[str, str]) -> None:
        doc = {"data": [{"key": k, "value": v} for k, v in data.items()]}
        self._write_bytes(json.dumps(doc, indent=1).encode())

    def _write_bytes(self, content: bytes) -> None:
        before = self.path.stat().st_mtime_ns if self.path.exists() else 0
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        tmp.write_bytes(content)
        os.replace(tmp, self.path)
        # The runtime notices a change by (mtime, size); make sure mtime moves even when two edits
        # land within the filesystem's timestamp granularity.
        stamp = max(time.time_ns(), before + 1_000_000)
        os.utime(self.path, ns=(stamp, stamp))

    def __getitem__(self, key: str) -> str:
        __tracebackhide__ = True  # pytest: a test's mistake is reported at its line
        data = self._load()
        if key not in data:
            raise KeyError(f"no key {key!r} in KeyValueStore {self.name} (keys: {sorted(data)})")
        return data[key]

    def __setitem__(self, key: str, value: str) -> None:
        __tracebackhide__ = True
        _check_item(key, value)
        data = self._load()
        data[key] = value
        self._save(data)

    def __delitem__(self, key: str) -> None:
        data = self._load()
        del data[key]
        self._save(data)

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())

    def replace(self, data: Mapping[str, str]) -> None:
        """Set the whole store at once (one write)."""
        __tracebackhide__ = True
        for key, value in data.items():  # checked as one item is: else the file holds a number
            _check_item(key, value)
        self._save(dict(data))

    def reset(self) -> None:
        """Back to the contents of the user's file."""
        self._write_bytes(self._original)
