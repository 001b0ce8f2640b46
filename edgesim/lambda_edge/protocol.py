"""The parent<->child frames: newline-delimited JSON on a pipe pair of their own.

The child's stdout and stderr are the handler's log; the protocol never shares them, so a
handler's print or console.log cannot corrupt it (architecture: a child runtime with its own
control channel). The shims speak the same frames without importing this module.

    parent -> child   {"type": "invoke", "event": {...}, "context": InvokeContext}
    child -> parent   {"type": "ready", "initMs": 12.3}
                      {"type": "initError", "error": ErrorInfo, "at": "file:line"}
                      {"type": "result", "ok": true, "result": ...}
                      {"type": "result", "ok": false, "error": ErrorInfo}
"""

from __future__ import annotations

import json
from typing import Any, Literal, NotRequired, TypedDict, Union

import orjson

from edgesim import function_json


class ErrorInfo(TypedDict):
    """A handler's error, in Lambda's own shape (errorType, errorMessage, stackTrace)."""

    errorType: str
    errorMessage: str
    stackTrace: list[str]


class InvokeContext(TypedDict):
    """What the child needs to build the Lambda `context` object."""

    functionName: str
    functionVersion: str
    invokedFunctionArn: str
    memoryLimitInMB: int
    awsRequestId: str
    logGroupName: str
    logStreamName: str
    deadlineMs: float  # epoch milliseconds; getRemainingTimeInMillis counts down to it


class InvokeFrame(TypedDict):
    type: Literal["invoke"]
    event: Any
    context: InvokeContext


class ReadyFrame(TypedDict):
    type: Literal["ready"]
    initMs: float


class InitErrorFrame(TypedDict):
    type: Literal["initError"]
    error: ErrorInfo
    # edgesim's, not Lambda's: where under the task root a failed import was (Python's shim only;
    # Lambda's ImportModuleError has no stack trace to say it).
    at: NotRequired[str]


class ResultFrame(TypedDict, total=False):
    type: Literal["result"]
    ok: bool
    result: Any
    error: ErrorInfo
    utf8Result: Any  # set by decode() only: the result with each lone surrogate made U+FFFD
    unreadable: str  # set by decode() only: why the result could not be read (nested too deep)


ChildFrame = Union[ReadyFrame, InitErrorFrame, ResultFrame]


class ProtocolError(Exception):
    """The child wrote something that is not a frame: edgesim's shim is broken, not the handler."""


# The stdlib encoder is the fallback for what orjson refuses (a lone surrogate in a string, an
# integer past 64 bits); its default ensure_ascii keeps such a frame one line too.
_ENCODER = json.JSONEncoder(separators=(",", ":"), check_circular=False)  # events are trees


def encode(frame: InvokeFrame) -> bytes:
    """One line of JSON. orjson writes UTF-8 as is (JSON escapes every newline inside strings, so a
    frame is still one line); both shims read the pipe as UTF-8."""
    try:
        return orjson.dumps(frame, option=orjson.OPT_APPEND_NEWLINE)
    except (orjson.JSONEncodeError, TypeError):
        return _ENCODER.encode(frame).encode() + b"\n"


# Every digit -> "0", everything else -> ".": a frame holding a run of 19 zeros after translating
# may hold an integer outside orjson's 64-bit range (it reads -9223372036854775809 as a float); the
# stdlib reads those exactly. Shorter integers always fit.
_DIGITS = bytes(48 if chr(i).isdigit() and i < 128 else 46 for i in range(256))
_LONG_RUN = b"0" * 19


def decode(line: bytes, *, exact_integers: bool = True) -> ChildFrame:
    """A frame from a worker. `exact_integers`: look for integers past 64 bits, which orjson reads
    as floats. A Python worker's json writes them exactly; a Node.js worker's numbers are doubles
    already (JSON.stringify of 2**70 is 1180591620717411300000), so the scan, which took a share of
    every Node.js invocation, is skipped for them (issue 6)."""
    try:
        if exact_integers and _LONG_RUN in line.translate(_DIGITS):
            frame = _stdlib_decode(line)
        else:
            frame = function_json.loads(line)  # orjson, never crashed by a result nested too deep
    except ValueError:  # orjson.JSONDecodeError is a ValueError
        # What only the stdlib reads: NaN from json.dumps, a lone surrogate from JSON.stringify.
        frame = _stdlib_decode(line)
    if not isinstance(frame, dict) or frame.get("type") not in ("ready", "initError", "result"):
        raise ProtocolError(f"unknown frame from worker: {line[:200]!r}")
    return frame  # type: ignore[return-value]


def _stdlib_decode(line: bytes) -> Any:
    """The frame read exactly. A result holding a lone surrogate (a JavaScript or Python string may)
    also gets it as UTF-8 can carry it, in "utf8Result": what CloudFront goes on with (see
    function_json); `edgesim invoke` shows the result exactly as returned. A result nested too deep
    to read comes back as a result naming why in "unreadable": only results hold the handler's data."""
    try:
        frame = function_json.stdlib_loads(line)
    except function_json.TooDeep as exc:
        return {"type": "result", "ok": True, "result": None, "unreadable": str(exc)}
    except ValueError as exc:
        raise ProtocolError(f"unreadable frame from worker: {line[:200]!r}") from exc
    if isinstance(frame, dict) and "result" in frame and b"\\u" in line:
        cleaned = function_json.without_lone_surrogates(line)
        if cleaned != line:
            frame["utf8Result"] = json.loads(cleaned)["result"]
    return frame


class LineBuffer:
    """Split a byte stream into complete lines; keeps the unfinished tail for the next chunk.

    The tail is kept as a list of chunks and joined once its line ends: a 50 MB result arrives in
    64 KB reads, and joining (and searching) the whole tail on every read cost the event loop
    seconds of CPU for one such frame (quadratic), stalling every other request meanwhile."""

    __slots__ = ("_parts",)

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def feed(self, chunk: bytes) -> list[bytes]:
        nl = chunk.find(b"\n")
        if not self._parts and nl == len(chunk) - 1:
            # Exactly one whole frame, the usual read: no concatenation, no split.
            return [chunk[:-1]] if chunk else []
        if nl < 0:  # the middle of a long frame: only this chunk was searched
            self._parts.append(chunk)
            return []
        parts, self._parts = self._parts, []
        parts.append(chunk)
        *lines, tail = b"".join(parts).split(b"\n")
        if tail:
            self._parts.append(tail)
        return lines

    def flush(self) -> list[bytes]:
        tail, self._parts = b"".join(self._parts), []
        return [tail] if tail else []
