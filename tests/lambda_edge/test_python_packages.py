"""What a Python Lambda@Edge handler can import: what Lambda@Edge gives it, not what edgesim's own
environment happens to hold.

On Lambda a handler sees its deployment package (the task root, with anything vendored into it by
`pip install --target`), the standard library, and the AWS SDK the Python runtime bundles (boto3
and its dependencies); Lambda@Edge has no layers. A package edgesim's interpreter has installed but
the function's folder lacks fails to import as it would on Lambda: `Runtime.ImportModuleError`, a
503 from CloudFront. `[distribution] lambda_python_site_packages = true` opts out.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from edgesim import errors
from edgesim.cli import main
from edgesim.config import DistributionSettings, LambdaFunctionAssociation
from edgesim.lambda_edge import LambdaEdgeRuntime
from edgesim.messages import EventType
from edgesim.testing import Distribution

from .conftest import make_call

VR = EventType.VIEWER_REQUEST

# PyYAML: one of edgesim's own dependencies, so always installed beside it; imported as `yaml`.
ENV_ONLY = "yaml"


def write_handler(folder: Path, source: str) -> LambdaFunctionAssociation:
    (folder / "app.py").write_text(source)
    return LambdaFunctionAssociation.model_validate({"lambda": "app.py:handler"}, context={"base_dir": folder})


# The handler answers with a JSON body of what `probe` returns.
def answering(probe: str, imports: str = "") -> str:
    return (f"{imports}\nimport json\n"
            f"def handler(event, context):\n"
            f"    return {{'status': '200', 'body': json.dumps({probe})}}\n")


async def run(folder: Path, source: str, settings: DistributionSettings | None = None) -> object:
    assoc = write_handler(folder, source)
    async with LambdaEdgeRuntime(settings or DistributionSettings(), max_concurrency=1) as runtime:
        result = await runtime.function(assoc, VR).invoke(make_call(VR))
    assert result.response is not None
    return json.loads(result.response.body)


async def init_failure(folder: Path, source: str) -> errors.LambdaExecutionError:
    assoc = write_handler(folder, source)
    async with LambdaEdgeRuntime(DistributionSettings(), max_concurrency=1) as runtime:
        with pytest.raises(errors.LambdaExecutionError) as caught:
            await runtime.function(assoc, VR).invoke(make_call(VR))
    return caught.value


async def test_a_package_only_edgesims_environment_has_fails_to_import_as_on_lambda(tmp_path: Path) -> None:
    assert importlib.util.find_spec(ENV_ONLY) is not None  # edgesim's interpreter has it
    err = await init_failure(tmp_path, answering("yaml.__name__", "import yaml"))
    # Lambda's own words (awslambdaric's bootstrap), in the log as Lambda writes them...
    assert "[ERROR] Runtime.ImportModuleError: Unable to import module 'app': No module named 'yaml'" in err.logs
    assert err.reason.startswith(f"app ({tmp_path / 'app.py'}:1): Runtime.ImportModuleError: Unable to import "
                                 "module 'app': No module named 'yaml' (edgesim: ")
    # ...then edgesim's: where it is, and how to bundle it, by its distribution's name.
    assert "yaml is installed in edgesim's environment (PyYAML) but not in the function's package" in err.reason
    assert f"`pip install PyYAML --target {tmp_path}`" in err.reason
    assert "lambda_python_site_packages = true" in err.reason


async def test_under_serve_it_is_cloudfronts_503_lambda_execution_error(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(answering("1", "import yaml"))
    config = {"origins": [{"id": "api", "url": "http://api.example.com"}],
              "default_cache_behavior": {"target_origin": "api",
                                         "functions": {"viewer-request": {"lambda": "app.py:handler"}}}}
    async with Distribution(config, base_dir=tmp_path, origins={"api": {"/": "home"}}) as dist:
        response = await dist.get("/")
    assert response.status_code == 503
    assert response.headers["x-cache"] == "LambdaExecutionError from cloudfront"


async def test_a_copy_vendored_into_the_handlers_folder_imports(tmp_path: Path) -> None:
    spec = importlib.util.find_spec(ENV_ONLY)
    assert spec is not None and spec.origin is not None
    # What `pip install PyYAML --target folder` leaves: the package beside the handler.
    shutil.copytree(Path(spec.origin).parent, tmp_path / "yaml")
    found = await run(tmp_path, answering("[yaml.__file__, yaml.safe_load('a: 1')]", "import yaml"))
    assert found == [str(tmp_path / "yaml" / "__init__.py"), {"a": 1}]


async def test_the_standard_library_imports_compiled_modules_too(tmp_path: Path) -> None:
    found = await run(tmp_path, answering("[sqlite3.sqlite_version > '3', bool(ssl.OPENSSL_VERSION), "
                                          "str(decimal.Decimal('1.10')), zoneinfo.ZoneInfo('UTC').key, "
                                          "callable(exit)]",
                                          "import decimal, sqlite3, ssl, zoneinfo"))
    assert found == [True, True, "1.10", "UTC", True]


@pytest.mark.skipif(importlib.util.find_spec("boto3") is None, reason="boto3 is not installed beside edgesim")
async def test_the_aws_sdk_the_runtime_bundles_imports_with_its_dependencies(tmp_path: Path) -> None:
    # boto3 pulls botocore, jmespath, s3transfer, dateutil and urllib3 (and six) in on its own.
    probe = ("[type(boto3.client('s3', region_name='us-east-1')).__name__, boto3.s3.transfer.__name__, "
             "dateutil.parser.parse('2024-01-02').year, jmespath.search('a', {'a': 1}), six.PY3, "
             "urllib3.__name__, importlib.metadata.version('boto3') == boto3.__version__]")
    found = await run(tmp_path, answering(probe, "import importlib.metadata, boto3, boto3.s3.transfer, "
                                                 "dateutil.parser, jmespath, six, urllib3"))
    assert found == ["S3", "boto3.s3.transfer", 2024, 1, True, "urllib3", True]


async def test_an_editable_or_pth_installed_package_is_not_seen_either(tmp_path: Path) -> None:
    # edgesim itself is installed (editable, in a development checkout: a .pth file); Lambda has none of it.
    err = await init_failure(tmp_path, answering("1", "import edgesim.config"))
    assert "Runtime.ImportModuleError: Unable to import module 'app': No module named 'edgesim'" in err.reason


async def test_a_module_beside_the_handler_that_imports_it_fails_too(tmp_path: Path) -> None:
    (tmp_path / "helpers.py").write_text("import os\nimport yaml\n")
    err = await init_failure(tmp_path, answering("1", "import helpers"))
    # Placed at the import that failed, in the module beside the handler.
    assert err.reason.startswith(f"app ({tmp_path / 'helpers.py'}:2): Runtime.ImportModuleError: Unable to import "
                                 "module 'app': No module named 'yaml'")


async def test_lambda_python_site_packages_opts_out(tmp_path: Path) -> None:
    found = await run(tmp_path, answering("yaml.safe_load('a: 1')", "import yaml"),
                      DistributionSettings(lambda_python_site_packages=True))
    assert found == {"a": 1}


def test_check_places_the_failed_import_at_its_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "fns").mkdir()
    (tmp_path / "fns" / "app.py").write_text("import json\n\nimport yaml\n\ndef handler(event, context):\n    return 1\n")
    (tmp_path / "edgesim.toml").write_text(
        '[[origins]]\nid = "app"\nurl = "http://127.0.0.1:3000"\n\n[default_cache_behavior]\ntarget_origin = "app"\n'
        'functions.origin-request = { lambda = "fns/app.py:handler" }\n')
    result = CliRunner().invoke(main, ["check", "--config", str(tmp_path / "edgesim.toml")])
    assert result.exit_code == 1
    (problem,) = result.stderr.splitlines()
    assert problem.startswith(f"error: {tmp_path / 'fns' / 'app.py'}:3: Runtime.ImportModuleError: Unable to import "
                              "module 'app': No module named 'yaml' (edgesim: yaml is installed in edgesim's "
                              "environment (PyYAML) but not in the function's package"), problem
    assert f"`pip install PyYAML --target {tmp_path / 'fns'}`" in problem


def test_check_takes_the_opt_out_from_the_config(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("import yaml\n\ndef handler(event, context):\n    return 1\n")
    (tmp_path / "edgesim.toml").write_text(
        '[distribution]\nlambda_python_site_packages = true\n\n[[origins]]\nid = "app"\nurl = "http://127.0.0.1:3000"\n\n'
        '[default_cache_behavior]\ntarget_origin = "app"\nfunctions.origin-request = { lambda = "app.py:handler" }\n')
    result = CliRunner().invoke(main, ["check", "--config", str(tmp_path / "edgesim.toml")])
    assert result.exit_code == 0, result.output


EVENT = {"Records": [{"cf": {
    "config": {"distributionDomainName": "d111111abcdef8.cloudfront.net", "distributionId": "EDFDVBD6EXAMPLE",
               "eventType": "viewer-request", "requestId": "r"},
    "request": {"clientIp": "203.0.113.178", "headers": {}, "method": "GET", "querystring": "", "uri": "/"}}}]}


@pytest.mark.parametrize("flag", [[], ["--python-site-packages"]])
def test_invoke_imports_edgesims_packages_only_when_asked(tmp_path: Path, flag: list[str]) -> None:
    (tmp_path / "app.py").write_text(answering("yaml.safe_load('a: 1')", "import yaml"))
    (tmp_path / "event.json").write_text(json.dumps(EVENT))
    result = CliRunner().invoke(main, ["invoke", str(tmp_path / "app.py") + ":handler",
                                       "--event", str(tmp_path / "event.json"), *flag])
    if flag:
        assert result.exit_code == 0, result.output
        assert json.loads(json.loads(result.stdout)["body"]) == {"a": 1}
    else:
        assert result.exit_code == 1
        assert ("error: app (" + str(tmp_path / "app.py") + ":1): Runtime.ImportModuleError: Unable to import module "
                "'app': No module named 'yaml' (edgesim: yaml is installed in edgesim's environment (PyYAML)") in result.stderr


def test_the_banner_says_when_handlers_import_edgesims_packages(tmp_path: Path) -> None:
    from edgesim.server import behaviors_text
    from edgesim.testing import resolve_config

    (tmp_path / "app.py").write_text(answering("1"))
    data = {"origins": [{"id": "app", "url": "http://127.0.0.1:3000"}],
            "default_cache_behavior": {"target_origin": "app",
                                       "functions": {"origin-request": {"lambda": "app.py:handler"}}}}
    assert "lambda_python_site_packages" not in behaviors_text(resolve_config(data, tmp_path))
    said = behaviors_text(resolve_config({**data, "distribution": {"lambda_python_site_packages": True}}, tmp_path))
    assert ("  note: Python Lambda@Edge handlers import any package edgesim's environment has "
            "(lambda_python_site_packages = true)") in said


def test_a_missing_runtime_package_says_to_install_it_beside_edgesim(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """boto3 is Lambda's to provide, not the function's: with no copy beside edgesim to stand in for
    it, the hint says where to install one (not `--target`)."""
    from edgesim.lambda_edge import python_packages

    monkeypatch.setattr(python_packages, "site_dirs", lambda: (str(tmp_path / "empty"),))
    hint = python_packages.missing_module_hint("boto3.session", tmp_path)
    assert hint == ("boto3 comes with Lambda's Python runtime (the AWS SDK for Python); edgesim stands in for it with "
                    "the copy installed beside edgesim, and there is none: `pip install boto3` where edgesim is installed")
    # The distribution's name, not the module's: python-dateutil for dateutil.
    assert "`pip install python-dateutil` where" in python_packages.missing_module_hint("dateutil", tmp_path)


def test_a_module_nobody_has_is_installed_by_its_distributions_name(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    from edgesim.lambda_edge import python_packages

    python_packages.distribution_of.cache_clear()  # a name another test asked about is remembered
    monkeypatch.setattr(importlib.metadata, "packages_distributions", lambda: {"jwt_": ["PyJWT"]})
    monkeypatch.setattr(python_packages, "site_dirs", lambda: (str(tmp_path / "empty"),))
    hint = python_packages.missing_module_hint("jwt_", tmp_path / "fns")
    assert f"`pip install PyJWT --target {tmp_path / 'fns'}`" in hint


def test_the_distribution_is_looked_up_once_per_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading every installed distribution's files takes a tenth of a second or more, on the serving
    loop, and serve words a handler's failure to load again for each request to it."""
    import importlib.metadata

    from edgesim.lambda_edge import python_packages

    python_packages.distribution_of.cache_clear()
    calls: list[int] = []
    monkeypatch.setattr(importlib.metadata, "packages_distributions", lambda: calls.append(1) or {"once_": ["Once"]})
    for _ in range(3):
        assert "`pip install Once --target" in python_packages.missing_module_hint("once_", tmp_path)
    assert len(calls) == 1
