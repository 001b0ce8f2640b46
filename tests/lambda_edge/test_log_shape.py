"""The log a handler leaves has Lambda's shape (spec §2.1: the normal Lambda programming model).

A Python handler's `logging` lines reach it in Lambda's format (Lambda's Python runtime gives the
root logger a handler of its own); a timed-out invocation ends with Lambda's own line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from edgesim import errors
from edgesim.config import LambdaFunctionAssociation
from edgesim.lambda_edge import LambdaEdgeRuntime
from edgesim.messages import EventType

from .conftest import Handlers, make_call

VR = EventType.VIEWER_REQUEST
# [LEVEL] <tab> UTC time with milliseconds and Z <tab> request id <tab> message
LINE = re.compile(r"\[(\w+)\]\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t([0-9a-f-]{36})\t(.*)")


def _lines(logs: list[str]) -> list[tuple[str, str, str]]:
    return [m.groups() for m in map(LINE.fullmatch, logs) if m]  # type: ignore[misc]


async def test_logging_lines_carry_level_time_and_request_id(runtime: LambdaEdgeRuntime, tmp_path: Path) -> None:
    assoc = Handlers("python", tmp_path).assoc("logs", js="", py="""
        import logging
        logger = logging.getLogger()
        logger.setLevel(logging.INFO)
        def handler(event, context):
            logger.info("uri %s", event["Records"][0]["cf"]["request"]["uri"])
            logging.getLogger("app.sub").warning("from a child logger")
            logger.debug("below the level")
            return event["Records"][0]["cf"]["request"]
        """)
    fn = runtime.function(assoc, VR)
    for _ in range(2):  # each invocation's lines carry its own request id
        result = await fn.invoke(make_call(VR))
        request_id = result.logs[0].split()[2]  # START RequestId: <id> Version: 1
        assert _lines(result.logs) == [("INFO", request_id, "uri /index.html"),
                                       ("WARNING", request_id, "from a child logger")]


async def test_the_root_logger_stays_at_warning(runtime: LambdaEdgeRuntime, tmp_path: Path) -> None:
    # As on Lambda: without setLevel, info is dropped and warnings show, in Lambda's format.
    assoc = Handlers("python", tmp_path).assoc("quiet", js="", py="""
        def handler(event, context):
            import logging  # imported late, inside the handler
            logging.info("not shown")
            logging.warning("shown")
            return event["Records"][0]["cf"]["request"]
        """)
    result = await runtime.function(assoc, VR).invoke(make_call(VR))
    assert [(level, message) for level, _, message in _lines(result.logs)] == [("WARNING", "shown")]
    assert not any("not shown" in line for line in result.logs)


async def test_a_timeout_is_logged_as_lambda_logs_it(runtime: LambdaEdgeRuntime, tmp_path: Path) -> None:
    assoc = LambdaFunctionAssociation.model_validate(
        {"lambda": "slow.py:handler", "timeout": 0.3}, context={"base_dir": tmp_path})
    (tmp_path / "slow.py").write_text("import time\ndef handler(event, context):\n    time.sleep(5)\n")
    with pytest.raises(errors.LambdaLimitExceeded) as caught:
        await runtime.function(assoc, VR).invoke(make_call(VR))
    request_id = caught.value.logs[0].split()[2]
    timed_out = [line for line in caught.value.logs if "Task timed out" in line]
    assert len(timed_out) == 1 and re.fullmatch(
        rf"\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z {request_id} Task timed out after 0\.30 seconds", timed_out[0])


async def test_an_exception_is_logged_with_its_traceback(runtime: LambdaEdgeRuntime, tmp_path: Path) -> None:
    # As Lambda's Python runtime logs it: the error line, then the handler's frames only.
    assoc = Handlers("python", tmp_path).assoc("raises", js="", py="""
        def check(uri):
            raise ValueError("bad uri " + uri)
        def handler(event, context):
            return check(event["Records"][0]["cf"]["request"]["uri"])
        """)
    with pytest.raises(errors.LambdaExecutionError) as caught:
        await runtime.function(assoc, VR).invoke(make_call(VR))
    logs = caught.value.logs
    start = logs.index("[ERROR] ValueError: bad uri /index.html")
    assert logs[start + 1] == "Traceback (most recent call last):"
    frames = [line for line in logs[start + 2:] if line.startswith("  File ")]
    assert [f.rsplit(" in ", 1)[1] for f in frames] == ["handler", "check"]
    assert all("raises.py" in f for f in frames)


async def test_a_node_error_is_logged_as_lambdas_node_runtime_logs_it(runtime: LambdaEdgeRuntime, tmp_path: Path) -> None:
    import json

    assoc = Handlers("node", tmp_path).assoc("boom", py="", js="""
        exports.handler = async () => { const e = new Error('boom'); e.code = 'E_BOOM'; throw e; };
        """)
    with pytest.raises(errors.LambdaExecutionError) as caught:
        await runtime.function(assoc, VR).invoke(make_call(VR))
    # <time> <tab> <request id> <tab> ERROR <tab> Invoke Error <space><tab> {errorType, errorMessage, code, stack}
    line = next(line for line in caught.value.logs if "\tERROR\tInvoke Error \t{" in line)
    logged = json.loads(line.split("Invoke Error \t", 1)[1])
    assert (logged["errorType"], logged["errorMessage"], logged["code"]) == ("Error", "boom", "E_BOOM")
    assert logged["stack"][0] == "Error: boom"
