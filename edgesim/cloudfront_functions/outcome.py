"""What one run of a CloudFront Function's handler produced, read from prelude.js's answer.

isolate.py runs the handler; this module turns prelude.js's JSON answer (finish() or fail()) and
V8's compile errors into Python values, before any CloudFront rule is applied (runtime.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edgesim import function_json


@dataclass(slots=True)
class Outcome:
    """What one run of the handler produced, before any CloudFront rule is applied."""

    ok: bool
    output: Any = None  # the JSON the handler returned (None when it returned nothing)
    error: str = ""  # "TypeError: x is not a function" on failure
    line: int | None = None
    invalid: bool = False  # the handler returned something that is not JSON (a validation error)
    timed_out: bool = False
    never_settled: bool = False  # an async handler whose promise nothing could ever settle
    out_of_memory: bool = False
    logs: list[str] = field(default_factory=list)
    origin: dict[str, Any] | None = None  # an origin helper's call: {"kind": ..., "args": [...]}
    log_data: str | None = None
    elapsed_ms: float = 0.0
    trips: float = 1  # trips into V8 this run took: 2 for an async handler, 1/n as one of a batch of n
    restored: bool = False  # the built-ins were restored after it (pristine.js): Isolate.restore_ms, not billed
    stale: bool = False  # a built-in it changed could not be put back: the isolate is renewed before the next
    controls: bool = True  # False: the answer's JSON text holds no CR, LF or NUL (output.py skips looking)
    # In place of `output`: what the handler changed in the event's request / response (prelude.js
    # changeSet), {"headers": {name: entry}, "removed": [name]}. `controls` then counts the event too.
    changes: dict[str, Any] | None = None


def has_controls(text: str) -> bool:
    """Whether an answer's JSON text may hold CR, LF or NUL in a string. JSON.stringify writes them
    only as these escapes: without them no value has one (a false alarm, such as an escaped
    backslash before an n, only costs output.py a search). Each escape begins with a backslash,
    which a text seldom holds: one search for that comes first (see payload_has_controls)."""
    return "\\" in text and ("\\r" in text or "\\n" in text or "\\u0000" in text)


def payload_has_controls(payload: bytes) -> bool:
    """has_controls for the payload isolate.py sent (orjson escapes these as JSON.stringify does).

    The backslash is looked for first, one memchr: the three two-character searches on their own
    took 4.7 us for a benchmark request's 1.4 KB payload, against 0.4 us for it (issue 6)."""
    return b"\\" in payload and (b"\\r" in payload or b"\\n" in payload or b"\\u0000" in payload)


def read_answer(text: str) -> Any:
    """prelude.js's answer parsed; ValueError when it cannot be (nested too deep: function_json).

    JSON.stringify writes a lone surrogate (a JavaScript string may hold one) as an escape that
    orjson refuses; it becomes U+FFFD (function_json.without_lone_surrogates, our reading). The scan
    runs only after orjson refused the text."""
    try:
        return function_json.loads(text)
    except ValueError:
        return function_json.stdlib_loads(function_json.without_lone_surrogates(text))


def outcome_of(data: dict[str, Any], elapsed_ms: float, trips: float, controls: bool) -> Outcome:
    """prelude.js's answer for one invocation (its finish() or fail())."""
    get = data.get
    # Positional, in the fields' order (cheaper than keywords, once per invocation): ok, output,
    # error, line, invalid, timed_out, never_settled, out_of_memory, logs, origin, log_data,
    # elapsed_ms, trips, restored, stale, controls, changes.
    return Outcome(data["ok"], get("output"), get("error", ""), get("line"), get("invalid", False), False, False,
                   False, data["logs"], get("origin"), get("logData"), elapsed_ms, trips, "guard" in data,
                   "stale" in data, controls, get("changes"))


class CompileError(Exception):
    """V8 refused the user's code: `message`, `line` (1-based, in the user's file) or None."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def v8_message_and_line(text: str) -> tuple[str, int | None]:
    """V8's 'file:LINE: SyntaxError: ...' text -> ('SyntaxError: ...', LINE)."""
    first = text.strip().splitlines()[0] if text.strip() else text
    parts = first.split(":", 2)
    if len(parts) == 3 and parts[1].strip().isdigit():
        return parts[2].strip(), int(parts[1])
    return first, None
