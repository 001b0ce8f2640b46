"""Lambda's Node.js programming model as its runtime runs it: the callback that waits for an empty
event loop, context.succeed/fail/done, and what happens when the loop runs empty unanswered
(aws-lambda-nodejs-runtime-interface-client, Runtime.js and CallbackContext.js)."""

from __future__ import annotations

import pytest

from edgesim import errors
from edgesim.lambda_edge import LambdaEdgeRuntime
from edgesim.messages import EventType
from .conftest import Handlers, make_call, viewer_request

VR = EventType.VIEWER_REQUEST
pytestmark = pytest.mark.parametrize("lang", ["node"], indirect=True)

# Answers by callback, then logs 'late' from a timer: the invocation lasts until the timer ran.
LATE_CALLBACK = """
exports.handler = (event, context, callback) => {
  if (event.Records[0].cf.request.uri === '/dont-wait') context.callbackWaitsForEmptyEventLoop = false;
  setTimeout(() => console.log('late'), 200);
  callback(null, event.Records[0].cf.request);
};
"""


async def test_a_callback_answers_once_the_event_loop_is_empty(runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    fn = runtime.function(handlers.assoc("late", py="", js=LATE_CALLBACK), VR)
    result = await fn.invoke(make_call(VR))
    assert result.request is not None
    assert any(line.endswith("\tlate") for line in result.logs)  # the timer ran within this invocation


async def test_callback_waits_for_empty_event_loop_false_answers_at_once(
        runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    fn = runtime.function(handlers.assoc("late", py="", js=LATE_CALLBACK), VR)
    result = await fn.invoke(make_call(VR, viewer_request("/dont-wait")))
    assert result.request is not None and result.request.uri == "/dont-wait"
    assert not any(line.endswith("\tlate") for line in result.logs)


async def test_a_callback_with_the_loop_kept_busy_times_out(runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    # The classic: an open connection (here an interval) keeps the loop from emptying.
    assoc = handlers.assoc("busy", py="", timeout=1, js="""
        exports.handler = (event, context, callback) => {
          setInterval(() => {}, 50);
          callback(null, event.Records[0].cf.request);
        };
    """)
    with pytest.raises(errors.LambdaLimitExceeded, match="timed out"):
        await runtime.function(assoc, VR).invoke(make_call(VR))


async def test_a_callback_never_called_answers_null(runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    # Not a timeout: once nothing is left to run, the runtime answers null and CloudFront fails it.
    assoc = handlers.assoc("forgot", py="", js="""
        exports.handler = (event, context, callback) => {
          if (event.Records[0].cf.request.uri === '/never') callback(null, event.Records[0].cf.request);
        };
    """)
    with pytest.raises(errors.LambdaValidationError):
        await runtime.function(assoc, VR).invoke(make_call(VR))


async def test_an_async_handler_left_pending_fails(runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    assoc = handlers.assoc("pending", py="", js="exports.handler = async () => { await new Promise(() => {}); };\n")
    with pytest.raises(errors.LambdaExecutionError, match="Runtime.NodeJsExit"):
        await runtime.function(assoc, VR).invoke(make_call(VR))


@pytest.mark.parametrize("answer", ["context.succeed(request)", "context.done(null, request)"])
async def test_context_succeed_and_done_answer(runtime: LambdaEdgeRuntime, handlers: Handlers, answer: str) -> None:
    assoc = handlers.assoc("legacy", py="", js=f"""
        exports.handler = (event, context) => {{
          const request = event.Records[0].cf.request;
          request.headers['x-legacy'] = [{{ key: 'X-Legacy', value: 'yes' }}];
          {answer};
        }};
    """)
    result = await runtime.function(assoc, VR).invoke(make_call(VR))
    assert result.request is not None and result.request.headers.get("x-legacy") == "yes"


async def test_context_fail_is_an_execution_error(runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    assoc = handlers.assoc("legacy", py="", js="exports.handler = (e, context) => context.fail(new Error('legacy boom'));\n")
    with pytest.raises(errors.LambdaExecutionError, match="legacy boom"):
        await runtime.function(assoc, VR).invoke(make_call(VR))


async def test_only_the_first_answer_counts(runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    assoc = handlers.assoc("twice", py="", js="""
        exports.handler = (event, context, callback) => {
          context.succeed(event.Records[0].cf.request);
          callback(new Error('too late'));
        };
    """)
    result = await runtime.function(assoc, VR).invoke(make_call(VR))
    assert result.request is not None


async def test_an_unhandled_rejection_is_named_as_lambda_names_it(runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    assoc = handlers.assoc("reject", py="", js="""
        exports.handler = (event, context, callback) => { Promise.reject(new TypeError('nobody caught me')); };
    """)
    with pytest.raises(errors.LambdaExecutionError, match="Runtime.UnhandledPromiseRejection: TypeError: nobody caught me"):
        await runtime.function(assoc, VR).invoke(make_call(VR))


async def test_an_uncaught_exception_ends_the_runtime_and_the_next_invocation_starts_cold(
        runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    assoc = handlers.assoc("throws", py="", js="""
        let calls = 0;
        exports.handler = (event, context, callback) => {
          calls += 1;
          const request = event.Records[0].cf.request;
          if (request.uri === '/throw') setTimeout(() => { throw new Error('later'); }, 1);
          else { request.headers['x-calls'] = [{ key: 'X-Calls', value: String(calls) }]; callback(null, request); }
        };
    """)
    fn = runtime.function(assoc, VR)
    await fn.invoke(make_call(VR))
    with pytest.raises(errors.LambdaExecutionError, match="later"):
        await fn.invoke(make_call(VR, viewer_request("/throw")))
    after = await fn.invoke(make_call(VR))
    assert after.cold_start and after.request is not None and after.request.headers.get("x-calls") == "1"


@pytest.mark.parametrize("runtime_name, refused", [("nodejs22.x", False), ("nodejs24.x", True)])
async def test_node_24_refuses_a_callback_handler_at_init(runtime: LambdaEdgeRuntime, handlers: Handlers,
                                                           runtime_name: str, refused: bool) -> None:
    assoc = handlers.assoc("cb", py="", runtime=runtime_name,
                           js="exports.handler = (event, context, callback) => callback(null, event.Records[0].cf.request);\n")
    fn = runtime.function(assoc, VR)
    if refused:
        with pytest.raises(errors.LambdaExecutionError, match="Runtime.CallbackHandlerDeprecated: ERROR: AWS Lambda has removed"):
            await fn.invoke(make_call(VR))
    else:
        assert (await fn.invoke(make_call(VR))).request is not None
