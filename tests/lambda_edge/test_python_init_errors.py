"""A Python handler that cannot load fails as Lambda's Python runtime reports it (awslambdaric's
bootstrap): its error type, message and log lines, at the first invocation."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgesim import errors
from edgesim.config import LambdaFunctionAssociation
from edgesim.lambda_edge import LambdaEdgeRuntime
from edgesim.messages import EventType

from .conftest import make_call

VR = EventType.VIEWER_REQUEST


async def failure(runtime: LambdaEdgeRuntime, folder: Path, source: str) -> errors.LambdaExecutionError:
    (folder / "app.py").write_text(source)
    assoc = LambdaFunctionAssociation.model_validate({"lambda": "app.py:handler"}, context={"base_dir": folder})
    with pytest.raises(errors.LambdaExecutionError) as caught:
        await runtime.function(assoc, VR).invoke(make_call(VR))
    return caught.value


def error_lines(err: errors.LambdaExecutionError) -> list[str]:
    start = next(i for i, line in enumerate(err.logs) if line.startswith("[ERROR]"))
    end = next(i for i, line in enumerate(err.logs) if line.startswith("INIT_REPORT"))
    return err.logs[start:end]


async def test_a_syntax_error_is_user_code_syntax_error_with_file_line_and_text(
        runtime: LambdaEdgeRuntime, tmp_path: Path) -> None:
    err = await failure(runtime, tmp_path, "def handler(event, context):\n    return {'a': 1,, }\n")
    assert "Runtime.UserCodeSyntaxError: Syntax error in module 'app': invalid syntax" in err.reason
    lines = error_lines(err)
    assert lines[0].startswith("[ERROR] Runtime.UserCodeSyntaxError: Syntax error in module 'app': invalid syntax")
    assert lines[1:] == ["Traceback (most recent call last):", f'  File "{tmp_path / "app.py"}" Line 2',
                         "        return {'a': 1,, }"]


async def test_an_indentation_error_is_a_syntax_error_too(runtime: LambdaEdgeRuntime, tmp_path: Path) -> None:
    err = await failure(runtime, tmp_path, "def handler(event, context):\nreturn 1\n")
    assert "Runtime.UserCodeSyntaxError: Syntax error in module 'app': expected an indented block" in err.reason


async def test_a_missing_module_is_import_module_error_in_lambdas_words(
        runtime: LambdaEdgeRuntime, tmp_path: Path) -> None:
    err = await failure(runtime, tmp_path, "import requests_nowhere\ndef handler(event, context):\n    return None\n")
    # Lambda's words, then edgesim's: how to bundle it (Lambda@Edge installs nothing).
    assert err.reason.endswith("Runtime.ImportModuleError: Unable to import module 'app': "
                               "No module named 'requests_nowhere' (edgesim: Lambda@Edge runs only what the function's "
                               f"package holds: install it beside the handler, `pip install requests_nowhere --target "
                               f"{tmp_path}`, and deploy it with the code)")
    assert error_lines(err) == ["[ERROR] Runtime.ImportModuleError: Unable to import module 'app': "
                                "No module named 'requests_nowhere'", "Traceback (most recent call last):"]


async def test_a_missing_function_is_handler_not_found(runtime: LambdaEdgeRuntime, tmp_path: Path) -> None:
    err = await failure(runtime, tmp_path, "def other(event, context):\n    return None\n")
    # Lambda's words, then edgesim's: which config field named it (no function of the module is close).
    assert err.reason.endswith("Runtime.HandlerNotFound: Handler 'handler' missing on module 'app' "
                               "(edgesim: 'handler' is set by functions.viewer-request.lambda = \"app.py:handler\" in the config)")
    assert "[ERROR] Runtime.HandlerNotFound: Handler 'handler' missing on module 'app'" in error_lines(err)


async def test_any_other_error_at_import_is_itself_with_its_traceback(
        runtime: LambdaEdgeRuntime, tmp_path: Path) -> None:
    # An AttributeError the module's own code raises is not a missing handler.
    err = await failure(runtime, tmp_path, "import os\nos.no_such_thing\ndef handler(event, context):\n    return None\n")
    assert err.reason.endswith("AttributeError: module 'os' has no attribute 'no_such_thing'")
    assert "HandlerNotFound" not in err.reason
    lines = error_lines(err)
    # Frames from the import machinery on stay, as on Lambda (only the runtime's own are dropped).
    assert lines[1] == "Traceback (most recent call last):"
    assert 'app.py", line 2, in <module>' in lines[-2] and lines[-1].strip() == "os.no_such_thing"
