"""The JSON text a function answered with, read whatever its depth and as UTF-8 can carry it.

Both the Lambda@Edge workers (protocol.py) and the CloudFront Functions isolate (isolate.py) hand
edgesim a function's answer as JSON text, and what is in it is the function's doing: it must never
crash edgesim (a user's function never kills the proxy), and it goes on as CloudFront sends
values on, in UTF-8 (spec §1.4).
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any, TypeVar

import orjson


class TooDeep(ValueError):
    """JSON nested deeper than edgesim reads: Python's recursion limit, about 1,000 levels."""


def loads(text: str | bytes) -> Any:
    """orjson.loads(text). Raises ValueError for what orjson refuses (read it with `stdlib_loads`
    then: NaN, a lone surrogate, an integer past 64 bits, nesting deeper than 1,024 levels).

    orjson before 3.9.15 read JSON of any depth and overflowed the C stack on deep input
    (CVE-2024-27454: a function's answer nested 60,000 deep killed edgesim with a segfault);
    pyproject.toml asks for 3.9.15 or later, which stops at 1,024 levels."""
    return orjson.loads(text)


def stdlib_loads(text: str | bytes) -> Any:
    """json.loads(text); TooDeep (a ValueError) past Python's recursion limit."""
    try:
        return json.loads(text)
    except RecursionError:
        raise TooDeep(f"the JSON is nested deeper than {sys.getrecursionlimit():,} levels") from None


# In JSON text: an escaped backslash (kept, so the scan never starts inside one), a surrogate pair
# (kept), or a lone surrogate escape. JSON.stringify and Python's json write a lone surrogate as such
# an escape, never as raw bytes.
_SURROGATE_ESCAPES = r"(\\\\)|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u[dD][89a-fA-F][0-9a-fA-F]{2}"
_LONE_TEXT = re.compile(_SURROGATE_ESCAPES)
_LONE_BYTES = re.compile(_SURROGATE_ESCAPES.encode())
_JSON = TypeVar("_JSON", str, bytes)


def without_lone_surrogates(text: _JSON) -> _JSON:
    """JSON text with each lone surrogate escape (a \\ud800 alone) made U+FFFD.

    A JavaScript string may hold a lone surrogate, and so may a Python str; UTF-8, in which CloudFront
    passes values on (spec §1.4), cannot carry one, and a decoded one in U+DC80-U+DCFF would pass for
    a byte edgesim received (edgesim.encoding's surrogateescape). So it becomes U+FFFD, as TextEncoder
    writes it and encoding.clean does (our reading; what CloudFront does is UNCERTAIN). Only called
    once a strict parse refused the text: the common answer never pays for the scan."""
    if isinstance(text, bytes):
        return _LONE_BYTES.sub(_keep_or_replace_bytes, text)
    return _LONE_TEXT.sub(_keep_or_replace_text, text)


def _keep_or_replace_text(m: re.Match[str]) -> str:
    token = m.group(0)
    return token if m.group(1) or len(token) == 12 else "\\ufffd"


def _keep_or_replace_bytes(m: re.Match[bytes]) -> bytes:
    token = m.group(0)
    return token if m.group(1) or len(token) == 12 else b"\\ufffd"
