"""An independent CBOR (RFC 8949) / COSE MAC0 (RFC 8152 §6.3) implementation for the cf.cwt tests:
tokens made here are what another issuer would send, and generateToken's tokens are read back here."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
from typing import Any

KEY = b"edgesim-cwt-key-0123456789abcdef"


class Tag:
    def __init__(self, number: int, value: Any) -> None:
        self.number, self.value = number, value


class Raw(bytes):
    """CBOR bytes written as they are (a half-precision float, say)."""


def cbor(v: Any) -> bytes:
    def head(major: int, n: int) -> bytes:
        if n < 24:
            return bytes([major << 5 | n])
        for info, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
            if n < 1 << (8 * struct.calcsize(fmt)):
                return bytes([major << 5 | info]) + struct.pack(fmt, n)
        raise ValueError(n)
    if isinstance(v, Raw):
        return bytes(v)
    if isinstance(v, Tag):
        return head(6, v.number) + cbor(v.value)
    if isinstance(v, float):
        return b"\xfb" + struct.pack(">d", v)
    if v is None:
        return b"\xf6"
    if isinstance(v, bool):
        return b"\xf5" if v else b"\xf4"
    if isinstance(v, int):
        return head(0, v) if v >= 0 else head(1, -1 - v)
    if isinstance(v, bytes):
        return head(2, len(v)) + v
    if isinstance(v, str):
        return head(3, len(v.encode())) + v.encode()
    if isinstance(v, list):
        return head(4, len(v)) + b"".join(cbor(x) for x in v)
    if isinstance(v, dict):
        return head(5, len(v)) + b"".join(cbor(k) + cbor(x) for k, x in v.items())
    raise TypeError(v)


def uncbor(b: bytes) -> Any:
    def item(pos: int) -> tuple[Any, int]:
        major, info = b[pos] >> 5, b[pos] & 31
        pos += 1
        if major == 7 and info == 27:
            return struct.unpack(">d", b[pos:pos + 8])[0], pos + 8
        if major == 7:
            return {20: False, 21: True, 22: None}[info], pos
        if info < 24:
            n = info
        else:
            size = 1 << (info - 24)
            n, pos = int.from_bytes(b[pos:pos + size], "big"), pos + size
        if major in (0, 1):
            return (n if major == 0 else -1 - n), pos
        if major in (2, 3):
            raw = b[pos:pos + n]
            return (raw if major == 2 else raw.decode()), pos + n
        if major == 4:
            out = []
            for _ in range(n):
                x, pos = item(pos)
                out.append(x)
            return out, pos
        if major == 5:
            m = {}
            for _ in range(n):
                k, pos = item(pos)
                m[k], pos = item(pos)
            return m, pos
        value, pos = item(pos)
        return Tag(n, value), pos
    value, end = item(0)
    assert end == len(b)
    return value


def mac0(payload: dict[Any, Any], *, key: bytes = KEY, alg: int = 5, unprotected: dict[Any, Any] | None = None,
         cwt_tag: bool = True) -> bytes:
    """A token made as RFC 8152 §6.3 says: the MAC over ["MAC0", protected, h'', payload]."""
    protected, body = cbor({1: alg}), cbor(payload)
    tag = hmac.new(key, cbor(["MAC0", protected, b"", body]), hashlib.sha256).digest()
    token = Tag(17, [protected, unprotected or {}, body, tag if alg == 5 else tag[:8]])
    return cbor(Tag(61, token) if cwt_tag else token)


def b64(token: bytes) -> str:
    return base64.urlsafe_b64encode(token).decode().rstrip("=")
