"""How a Node.js handler's module is found and loaded, as Lambda's Node.js runtime does it
(aws-lambda-nodejs-runtime-interface-client, UserFunction.js): .mjs by import(), .js by require()
unless it is an ES module, a handler path split at the first dot and resolved through nested
exports, and no look into an ES module's default export.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from edgesim.lambda_edge import generate_event, invoke_handler
from edgesim.messages import EventType

# An ES module that awaits its configuration at init, as AWS's "Using Node.js ES modules and
# top-level await in AWS Lambda" shows: Lambda runs it; require() refuses it.
TOP_LEVEL_AWAIT = """
const config = await new Promise((resolve) => setTimeout(() => resolve({ greeting: 'hi' }), 5));
export const handler = async (event) => {
  const request = event.Records[0].cf.request;
  request.headers['x-greeting'] = [{ key: 'X-Greeting', value: config.greeting }];
  return request;
};
"""


async def _greeting(path: Path, handler: str = "handler") -> str:
    result = await invoke_handler(f"{path}:{handler}", generate_event(EventType.VIEWER_REQUEST))
    assert result.ok, result.error
    return str(result.result["headers"]["x-greeting"][0]["value"])


async def test_an_mjs_handler_with_top_level_await_runs(tmp_path: Path) -> None:
    path = tmp_path / "index.mjs"
    path.write_text(TOP_LEVEL_AWAIT)
    assert await _greeting(path) == "hi"


async def test_a_js_es_module_with_top_level_await_runs(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text('{"type": "module"}\n')
    path = tmp_path / "index.js"
    path.write_text(TOP_LEVEL_AWAIT)
    assert await _greeting(path) == "hi"


async def test_a_default_export_is_not_a_handler(tmp_path: Path) -> None:
    """Lambda resolves the handler on the module's exports only: HandlerNotFound, a 503."""
    path = tmp_path / "index.mjs"
    path.write_text("export default { handler: async (event) => event.Records[0].cf.request };\n")
    result = await invoke_handler(f"{path}:handler", generate_event(EventType.VIEWER_REQUEST))
    assert result.error is not None and "Runtime.HandlerNotFound" in result.error
    assert result.error_status == 503


@pytest.mark.parametrize("handler", ["index.handlers.viewer", "src/index.handlers.viewer"])
async def test_a_lambda_style_handler_resolves_nested_exports(tmp_path: Path, handler: str) -> None:
    folder = tmp_path / "src" if handler.startswith("src/") else tmp_path
    folder.mkdir(exist_ok=True)
    (folder / "index.js").write_text(
        "exports.handlers = { viewer: async (event) => {\n"
        "  const r = event.Records[0].cf.request;\n"
        "  r.headers['x-greeting'] = [{ key: 'X-Greeting', value: 'nested' }];\n"
        "  return r;\n} };\n")
    result = await invoke_handler(handler, generate_event(EventType.VIEWER_REQUEST), base_dir=tmp_path)
    assert result.ok, result.error
    assert result.result["headers"]["x-greeting"][0]["value"] == "nested"
