"""AWS credentials for Lambda@Edge handlers: none by default, not even the shared files an SDK
finds on its own; the developer's own with `[distribution] lambda_aws_credentials = true` or
`edgesim invoke --aws-credentials` (workers.child_environment)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from edgesim.cli import main
from edgesim.config import DistributionSettings
from edgesim.lambda_edge.runtime import LambdaEdgeRuntime
from edgesim.messages import EventType

from .conftest import Handlers, make_call

VR = EventType.VIEWER_REQUEST

# The handler answers with its whole environment.
ENV_PY = """
import json, os
def handler(event, context):
    return {"status": "200", "body": json.dumps(dict(os.environ))}
"""
ENV_JS = """
exports.handler = async () => ({ status: '200', body: JSON.stringify(process.env) });
"""

SHELL = {
    "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG", "AWS_SESSION_TOKEN": "tok",
    "AWS_PROFILE": "dev", "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
    # What Lambda sets itself stays Lambda's, whatever the shell says.
    "AWS_REGION": "eu-west-1", "AWS_LAMBDA_FUNCTION_NAME": "not-this",
}


@pytest.fixture
def shell(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SHELL.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("EDGESIM_TEST_SECRET", "leaked")


async def environment(handlers: Handlers, *, credentials: bool) -> dict[str, str]:
    assoc = handlers.assoc("env", py=ENV_PY, js=ENV_JS)
    async with LambdaEdgeRuntime(DistributionSettings(lambda_aws_credentials=credentials)) as runtime:
        result = await runtime.function(assoc, VR).invoke(make_call(VR))
    assert result.response is not None
    env: dict[str, str] = json.loads(result.response.body)
    return env


@pytest.mark.usefixtures("shell")
async def test_by_default_a_handler_finds_no_credentials_at_all(handlers: Handlers) -> None:
    env = await environment(handlers, credentials=False)
    assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"} & set(env)
    # The SDKs' default chain would read ~/.aws (found without HOME too) or an instance role.
    assert env["AWS_SHARED_CREDENTIALS_FILE"] == env["AWS_CONFIG_FILE"] == os.devnull
    assert env["AWS_EC2_METADATA_DISABLED"] == "true"
    assert env["AWS_REGION"] == "us-east-1"


@pytest.mark.usefixtures("shell")
async def test_asked_for_the_developers_credentials_reach_the_handler(handlers: Handlers) -> None:
    env = await environment(handlers, credentials=True)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        assert env[name] == SHELL[name]
    assert "AWS_SHARED_CREDENTIALS_FILE" not in env and "AWS_EC2_METADATA_DISABLED" not in env
    assert env["AWS_REGION"] == "us-east-1"
    assert env["AWS_LAMBDA_FUNCTION_NAME"].endswith(".env")
    assert "EDGESIM_TEST_SECRET" not in env and "HOME" not in env


@pytest.mark.usefixtures("shell")
@pytest.mark.parametrize("flag", [[], ["--aws-credentials"]])
def test_invoke_passes_them_only_when_asked(tmp_path: Path, flag: list[str]) -> None:
    (tmp_path / "env.py").write_text(ENV_PY)
    (tmp_path / "event.json").write_text(json.dumps({"Records": [{"cf": {
        "config": {"distributionDomainName": "d111111abcdef8.cloudfront.net", "distributionId": "EDFDVBD6EXAMPLE",
                   "eventType": "viewer-request", "requestId": "r"},
        "request": {"clientIp": "203.0.113.178", "headers": {}, "method": "GET", "querystring": "", "uri": "/"}}}]}))
    result = CliRunner().invoke(main, ["invoke", str(tmp_path / "env.py") + ":handler",
                                       "--event", str(tmp_path / "event.json"), *flag])
    assert result.exit_code == 0, result.output
    body = json.loads(json.loads(result.stdout)["body"])
    assert ("AWS_ACCESS_KEY_ID" in body) == bool(flag)


@pytest.mark.usefixtures("shell")
def test_the_banner_says_handlers_get_the_shells_credentials(tmp_path: Path) -> None:
    """Real AWS calls with the developer's own credentials are said at start, with the variables'
    names (never their values); a config without the setting says nothing."""
    from edgesim.server import behaviors_text
    from edgesim.testing import resolve_config

    (tmp_path / "env.py").write_text(ENV_PY)
    data = {"origins": [{"id": "app", "url": "http://127.0.0.1:3000"}],
            "default_cache_behavior": {"target_origin": "app",
                                       "functions": {"origin-request": {"lambda": "env.py:handler"}}}}
    quiet = behaviors_text(resolve_config(data, tmp_path))
    assert "credentials" not in quiet
    said = behaviors_text(resolve_config({**data, "distribution": {"lambda_aws_credentials": True}}, tmp_path))
    line = next(line for line in said.splitlines() if "credentials" in line)
    assert "lambda_aws_credentials = true" in line and "AWS_PROFILE" in line and "AWS_ACCESS_KEY_ID" in line
    assert SHELL["AWS_SECRET_ACCESS_KEY"] not in said and "AWS_REGION" not in line
