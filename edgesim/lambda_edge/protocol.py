"""The parent<->child frames: newline-delimited JSON on a pipe pair of their own.

The child's stdout and stderr are the handler's log; the protocol never shares them, so a
handler's print or console.log cannot corrupt it (architecture: a child runtime with its own
control channel). The shims speak the same frames without importing this module.

    parent -> child   {"type": "invoke", "event": {...}, "context": InvokeContext}
    child -> parent   {"type": "ready", "initMs": 12.3}
                      {"type": "initError", "error": ErrorInfo}
                      {"type": "result", "ok": true, "result": ...}
                      {"type": "result", "ok": false, "error": ErrorInfo}
"""

from __future__ import annotations

import json
from typing import Any, Literal, TypedDict, Union

import orjson


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


class ResultFrame(TypedDict, total=False):
    type: Literal["result"]
    ok: bool
    result: Any
    error: ErrorInfo


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


def decode(line: bytes) -> ChildFrame:
    try:
        if _LONG_RUN in line.translate(_DIGITS):
            frame = json.loads(line)
        else:
            frame = orjson.loads(line)
    except ValueError:  # orjson.JSONDecodeError is a ValueError
        try:  # what only the stdlib reads: NaN from json.dumps, a lone surrogate from JSON.stringify
            frame = json.loads(line)
        except ValueError as exc:
            raise ProtocolError(f"unreadable frame from worker: {line[:200]!r}") from exc
    if not isinstance(frame, dict) or frame.get("type") not in ("ready", "initError", "result"):
        raise ProtocolError(f"unknown frame from worker: {line[:200]!r}")
    return frame  # type: ignore[return-value]


class LineBuffer:
    """Split a byte stream into complete lines; keeps the unfinished tail for the next chunk."""

    __slots__ = ("_tail",)

    def __init__(self) -> None:
        self._tail = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        if not self._tail and chunk and chunk.find(b"\n") == len(chunk) - 1:
            # Exactly one whole frame, the usual read: no concatenation, no split.
            return [chunk[:-1]]
        data = self._tail + chunk
        *lines, self._tail = data.split(b"\n")
        return lines

    def flush(self) -> list[bytes]:
        tail, self._tail = self._tail, b""
        return [tail] if tail else []
