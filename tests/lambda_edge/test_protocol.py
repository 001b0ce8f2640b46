"""The frames between edgesim and its workers: one line each, any text inside, read back exactly."""

from __future__ import annotations

import json
import uuid

import pytest

from edgesim.lambda_edge import LambdaEdgeRuntime, generate_event, invoke_handler, protocol
from edgesim.lambda_edge.runtime import new_request_id
from edgesim.messages import EventType, Headers

from .conftest import Handlers, make_call, viewer_request

VR = EventType.VIEWER_REQUEST
TEXT = "héllo ✓ \u2028 \u2029 \"quoted\" \\ \t end"


@pytest.mark.parametrize("value", [TEXT, "lone \udc80 surrogate", 2**70, -(2**64), 1.5, None, "a\nb"])
def test_an_invoke_frame_is_one_line_that_reads_back_exactly(value: object) -> None:
    frame: protocol.InvokeFrame = {"type": "invoke", "event": {"v": value, "list": [value]},
                                   "context": {}}  # type: ignore[typeddict-item]
    data = protocol.encode(frame)
    assert data.endswith(b"\n") and data.count(b"\n") == 1
    assert json.loads(data) == frame


@pytest.mark.parametrize("text, value", [
    ("123456789012345678901234567890", 123456789012345678901234567890),
    ("-9223372036854775809", -9223372036854775809),  # just past 64 bits
    ("18446744073709551615", 18446744073709551615),
    ("9007199254740993", 9007199254740993),  # past a double's exact range, within 64 bits
    ('"\\ud800"', "\ud800"),  # a lone surrogate, as JSON.stringify escapes it
    ('"h\u00e9llo \u2713"', "héllo ✓"),
    ("NaN", None),  # json.dumps writes NaN for float("nan")
    ("[1.5, -0.0, 1e300]", [1.5, -0.0, 1e300]),
])
def test_a_result_frame_reads_what_the_workers_write_exactly(text: str, value: object) -> None:
    frame = protocol.decode(b'{"type":"result","ok":true,"result":' + text.encode() + b"}")
    got = frame["result"]  # type: ignore[typeddict-item]
    if value is None:
        assert got != got  # NaN
    else:
        assert got == value and type(got) is type(value)


@pytest.mark.parametrize("text, value", [
    ("1180591620717411300000", 1180591620717411300000.0),  # JSON.stringify(2 ** 70): a double to begin with
    ("9007199254740993", 9007199254740993),  # within 64 bits: read exactly either way
    ('"\\ud800"', "\ud800"),  # what orjson refuses still goes to the stdlib
])
def test_a_node_workers_numbers_are_read_as_the_doubles_they_are(text: str, value: object) -> None:
    """Without the scan for integers past 64 bits (exact_integers=False, a Node.js worker's frames)."""
    frame = protocol.decode(b'{"type":"result","ok":true,"result":' + text.encode() + b"}", exact_integers=False)
    got = frame["result"]  # type: ignore[typeddict-item]
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize("line", [b"not json", b'{"type":"nope"}', b"[1, 2]", b'{"type":"result","x":"\xff"}'])
def test_a_broken_frame_is_a_protocol_error(line: bytes) -> None:
    with pytest.raises(protocol.ProtocolError):
        protocol.decode(line)


def test_request_ids_are_distinct_version_4_uuids() -> None:
    ids = {new_request_id() for _ in range(2000)}
    assert len(ids) == 2000
    for each in ids:
        parsed = uuid.UUID(each)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and str(parsed) == each


ECHO_PY = """
def handler(event, context):
    request = event["Records"][0]["cf"]["request"]
    text = request["headers"]["x-text"][0]["value"]
    request["headers"]["x-echo"] = [{"key": "X-Echo", "value": text + " ✓"}]
    request["headers"]["x-codepoints"] = [{"key": "X-Codepoints", "value": str(len(text))}]
    return request
"""
ECHO_JS = """
exports.handler = async (event) => {
  const request = event.Records[0].cf.request;
  const text = request.headers['x-text'][0].value;
  request.headers['x-echo'] = [{ key: 'X-Echo', value: text + ' ✓' }];
  request.headers['x-codepoints'] = [{ key: 'X-Codepoints', value: String([...text].length) }];
  return request;
};
"""


async def test_non_ascii_text_reaches_the_handler_and_comes_back_intact(
        runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    fn = runtime.function(handlers.assoc("echo", py=ECHO_PY, js=ECHO_JS), VR)
    # Long enough that the frame crosses pipe-buffer-sized reads, so split UTF-8 sequences are seen.
    text = TEXT * 3000
    request = viewer_request(headers=[("Host", "d111111abcdef8.cloudfront.net"), ("X-Text", text)])
    for _ in range(2):  # cold, then warm
        result = await fn.invoke(make_call(VR, request))
        assert result.request is not None
        assert result.request.headers.get("x-echo") == text + " ✓"
        assert result.request.headers.get("x-codepoints") == str(len(text))
        assert isinstance(result.request.headers, Headers)


# What json makes of a result, the Python worker must make too, whichever library writes the line.
RESULTS_PY = """
import enum, math, uuid

class Colour(enum.Enum):
    RED = "red"

class Label(str, enum.Enum):
    A = "a"

def handler(event, context):
    request = event["Records"][0]["cf"]["request"]
    kind = request["uri"][1:]
    values = {"uuid": uuid.UUID(int=1), "enum": Colour.RED, "str-enum": Label.A, "nan": math.nan,
              "inf": math.inf, "tuple": (1, "two"), "big": 2**70, "int-key": {1: "one"},
              "echo": request.get("big"), "surrogate": "lone \\udc80", "u64": 2**64 - 1, "float": 1e16}
    return {"status": "200", "value": values[kind]}
"""


@pytest.mark.parametrize("lang", ["python"], indirect=True)
@pytest.mark.parametrize("kind, expected", [
    ("uuid", "Runtime.MarshalError"), ("enum", "Runtime.MarshalError"), ("str-enum", "a"),
    ("nan", "nan"), ("inf", float("inf")), ("tuple", [1, "two"]), ("big", 2**70), ("int-key", {"1": "one"}),
    ("echo", 2**70 + 1), ("surrogate", "lone \udc80"), ("u64", 2**64 - 1), ("float", 1e16),
])
async def test_python_results_are_what_json_makes_of_them(handlers: Handlers, kind: str, expected: object) -> None:
    path = handlers.write("results", py=RESULTS_PY, js="")
    event = generate_event(VR, uri=f"/{kind}")
    event["Records"][0]["cf"]["request"]["big"] = 2**70 + 1  # an integer past 64 bits reaches the handler
    result = await invoke_handler(f"{path}:handler", event)
    if expected == "Runtime.MarshalError":
        assert result.error is not None and "Runtime.MarshalError" in result.error
        return
    assert result.error is None, result.error
    value = result.result["value"]
    if expected == "nan":
        assert value != value
    else:
        assert value == expected and type(value) is type(expected)
