"""A Python handler named by its dotted module path, as SAM and serverless templates name it.

Lambda's Python runtime reads `Handler: app.edge.viewer.lambda_handler` as module `app.edge.viewer`
(split at the last dot), imported from the task root: the module's package imports as a package
(`from app.edge import helpers`, `from . import helpers`) and the working directory is the root.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from edgesim.config import parse_config
from edgesim.lambda_edge import generate_event, invoke_handler
from edgesim.messages import EventType, Headers, Request
from edgesim.simulator import Simulator

VIEWER = '''
import os
from app.edge import helpers
from . import sibling
def lambda_handler(event, context):
    request = event["Records"][0]["cf"]["request"]
    request["headers"]["x-from"] = [{"key": "X-From", "value": f"{helpers.NAME} {sibling.NAME} {__name__}"}]
    request["headers"]["x-root"] = [{"key": "X-Root", "value": os.environ["LAMBDA_TASK_ROOT"] + " " + os.getcwd()}]
    return request
'''


@pytest.fixture
def root(tmp_path: Path) -> Path:
    edge = tmp_path / "app" / "edge"
    edge.mkdir(parents=True)
    for package in (tmp_path / "app", edge):
        (package / "__init__.py").write_text("")
    (edge / "helpers.py").write_text("NAME = 'helpers'\n")
    (edge / "sibling.py").write_text("NAME = 'sibling'\n")
    (edge / "viewer.py").write_text(textwrap.dedent(VIEWER))
    return tmp_path


@pytest.mark.parametrize("handler", ["app.edge.viewer.lambda_handler", "app.edge.viewer:lambda_handler",
                                     "app/edge/viewer.lambda_handler"])
async def test_a_dotted_module_imports_from_the_task_root(root: Path, handler: str) -> None:
    result = await invoke_handler(handler, generate_event(EventType.VIEWER_REQUEST), base_dir=root)
    assert result.ok, result.error
    headers = result.result["headers"]
    assert headers["x-from"][0]["value"] == "helpers sibling app.edge.viewer"
    assert headers["x-root"][0]["value"] == f"{root.resolve()} {root.resolve()}"


async def test_a_dotted_module_s_import_error_names_the_module(root: Path) -> None:
    (root / "app" / "edge" / "broken.py").write_text("import no_such_module\n")
    result = await invoke_handler("app.edge.broken.handler", generate_event(EventType.VIEWER_REQUEST), base_dir=root)
    assert result.error is not None and "Unable to import module 'app.edge.broken'" in result.error


async def test_a_distribution_runs_a_dotted_module(root: Path) -> None:
    config = parse_config({
        "origins": [{"id": "app", "url": "http://app.internal"}],
        "default_cache_behavior": {"target_origin": "app", "functions": {
            "viewer-request": {"lambda": "app.edge.viewer.lambda_handler", "runtime": "python3.12"}}},
    }, base_dir=root)
    async with Simulator(config) as sim:
        _, trace = await sim.handle(Request("GET", "/", headers=Headers([("Host", "d111111abcdef8.cloudfront.net")])))
    assert trace.triggers and trace.triggers[0].error is None
    out = trace.triggers[0].output
    assert out["headers"]["x-from"][0]["value"] == "helpers sibling app.edge.viewer"


async def test_a_handler_in_plain_folders_keeps_its_folder_as_the_task_root(tmp_path: Path) -> None:
    """Folders without __init__.py are no package: the handler's own folder is the zip's root, as in
    edgesim's own layout (functions/lambda/robots_txt.handler), and its siblings import by name."""
    folder = tmp_path / "functions" / "lambda"
    folder.mkdir(parents=True)
    (folder / "util.py").write_text("NAME = 'util'\n")
    (folder / "edge.py").write_text(
        "import util\ndef handler(event, context):\n"
        "    r = event['Records'][0]['cf']['request']\n"
        "    r['headers']['x-from'] = [{'key': 'X-From', 'value': util.NAME}]\n    return r\n")
    result = await invoke_handler("functions/lambda/edge.handler", generate_event(EventType.VIEWER_REQUEST),
                                  base_dir=tmp_path)
    assert result.ok, result.error
    assert result.result["headers"]["x-from"][0]["value"] == "util"


def test_a_file_handler_keeps_its_folder_as_the_task_root(tmp_path: Path) -> None:
    """`path/file.py:fn` and `path/file.fn` are unchanged: the file's folder is the root."""
    (tmp_path / "fns").mkdir()
    (tmp_path / "fns" / "edge.py").write_text("def handler(e, c):\n    return e\n")
    config = parse_config({
        "origins": [{"id": "app", "url": "http://app.internal"}],
        "default_cache_behavior": {"target_origin": "app", "functions": {
            "viewer-request": {"lambda": "fns/edge.handler"}}},
    }, base_dir=tmp_path)
    assoc = config.default_cache_behavior.functions["viewer-request"]
    assert assoc.path == (tmp_path / "fns" / "edge.py").resolve() and assoc.module == ""
    assert os.path.basename(assoc.path) == "edge.py"
