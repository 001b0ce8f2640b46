"""After Lambda's Runtime.HandlerNotFound, edgesim says which config field named the handler and,
when the module defines a function with a close name, which one was probably meant."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgesim import errors
from edgesim.config import LambdaFunctionAssociation
from edgesim.lambda_edge import LambdaEdgeRuntime, check_lambda, invoke_handler
from edgesim.lambda_edge.handler_hint import module_functions
from edgesim.messages import EventType

from .conftest import Handlers, make_call

OS = EventType.ORIGIN_RESPONSE


def test_the_functions_a_module_defines_are_read_from_its_source(tmp_path: Path) -> None:
    py = tmp_path / "m.py"
    py.write_text("import os\ndef handler(e, c):\n    def inner(): pass\nasync def other(e, c): pass\nclass K: pass\nx = 1\n")
    assert module_functions(py) == ["handler", "other"]
    js = tmp_path / "m.js"
    js.write_text("exports.handler = async () => 1;\nmodule.exports.second = function () {};\n"
                  "export async function third() {}\nexport const fourth = () => 1;\nmodule.exports = { fifth, sixth: 1 };\n")
    assert module_functions(js) == ["handler", "second", "third", "fourth", "fifth", "sixth"]
    (tmp_path / "broken.py").write_text("def handler(:\n")
    assert module_functions(tmp_path / "broken.py") == []
    assert module_functions(tmp_path / "absent.py") == []


def _misnamed(handlers: Handlers, function: str = "handlr") -> LambdaFunctionAssociation:
    path = handlers.write("tag", py="def handler(event, context):\n    return event['Records'][0]['cf']['response']\n",
                          js="exports.handler = async (event) => event.Records[0].cf.response;\n")
    return LambdaFunctionAssociation.model_validate({"lambda": f"{path.name}:{function}"},
                                                    context={"base_dir": handlers.folder})


async def test_a_misnamed_handler_names_the_config_field_and_the_function_meant(
        runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    assoc = _misnamed(handlers)
    with pytest.raises(errors.LambdaExecutionError) as caught:
        await runtime.function(assoc, OS).invoke(make_call(OS))
    reason = caught.value.reason
    assert "Runtime.HandlerNotFound: " in reason  # Lambda's own line, as Lambda words it, comes first
    assert reason.endswith(f" (edgesim: 'handlr' is set by functions.origin-response.lambda = \"{assoc.handler}\" "
                           "in the config; did you mean 'handler', which the module defines?)"), reason


def test_check_names_the_whole_config_field(handlers: Handlers) -> None:
    assoc = _misnamed(handlers)
    problems = check_lambda(assoc, "cache_behaviors[0].functions.origin-response.lambda")
    assert len(problems) == 1 and "Runtime.HandlerNotFound: " in problems[0]
    assert problems[0].endswith(f"(edgesim: 'handlr' is set by cache_behaviors[0].functions.origin-response.lambda = "
                                f"\"{assoc.handler}\"; did you mean 'handler', which the module defines?)"), problems
    # Nothing close in the module: the field only.
    far = check_lambda(_misnamed(handlers, "zzz"), "default_cache_behavior.functions.origin-response.lambda")
    assert far[0].endswith("(edgesim: 'zzz' is set by default_cache_behavior.functions.origin-response.lambda = "
                           f"\"tag{'.py' if handlers.lang == 'python' else '.js'}:zzz\")"), far


async def test_invoke_names_the_handler_it_was_given(handlers: Handlers) -> None:
    assoc = _misnamed(handlers)
    result = await invoke_handler(assoc.handler, {"Records": []}, event_type=OS, base_dir=handlers.folder)
    assert result.error is not None and result.error.endswith(
        f"(edgesim: 'handlr' is set by the handler \"{assoc.handler}\"; did you mean 'handler', which the module defines?)")


def test_edgesim_check_names_the_behavior_and_trigger(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from edgesim.cli import main

    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "tag.py").write_text("def handler(event, context):\n    return event\n")
    (tmp_path / "edgesim.toml").write_text(
        '[[origins]]\nid = "app"\nurl = "http://127.0.0.1:3000"\n[default_cache_behavior]\ntarget_origin = "app"\n'
        'functions.origin-response = { lambda = "fn/tag.py:handlr" }\n')
    result = CliRunner().invoke(main, ["check", "--config", str(tmp_path / "edgesim.toml")])
    assert result.exit_code == 1
    assert result.output == (
        f"error: {tmp_path / 'fn' / 'tag.py'}: Runtime.HandlerNotFound: Handler 'handlr' missing on module 'tag' "
        "(edgesim: 'handlr' is set by default_cache_behavior.functions.origin-response.lambda = \"fn/tag.py:handlr\"; "
        "did you mean 'handler', which the module defines?)\n")
