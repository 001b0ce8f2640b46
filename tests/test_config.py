"""Config loading: valid configs load, what CloudFront refuses at deploy is refused with a clear line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from edgesim.config import config_warnings, default_config_path, load_config
from edgesim.errors import ConfigError


def test_embedded_default_loads() -> None:
    config = load_config(default_config_path())
    assert [b.path_pattern for b in config.behaviors()] == ["/static/*", "*"]


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "fns").mkdir(exist_ok=True)
    for name in ("a.js", "b.js"):
        (tmp_path / "fns" / name).write_text("function handler(event) { return event.request; }\n")
    (tmp_path / "fns" / "h.py").write_text("def handler(event, context):\n    return event\n")
    path = tmp_path / "edgesim.toml"
    path.write_text(text)
    return path


BASE = """
[[origins]]
id = "app"
url = "http://127.0.0.1:3000"
"""


def problems_of(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    return info.value.problems


def unplaced(problem: str, path: Path) -> str:
    """A problem line without its FILE:LINE head (`error: ` kept), for tests of what it says."""
    return re.sub(rf"^(error: )?{re.escape(str(path))}(:\d+)?: ", lambda m: m[1] or "", problem)


def unplaced_output(output: str, path: Path) -> list[str]:
    """A command's output lines, each `error: FILE:LINE: ...` as `error: FILE: ...`."""
    return [re.sub(rf"^error: {re.escape(str(path))}:\d+: ", f"error: {path}: ", line) for line in output.splitlines()]


def test_minimal_config_loads_with_cloudfront_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE + '[default_cache_behavior]\ntarget_origin = "app"\n'))
    behavior = config.default_cache_behavior
    assert behavior.cache_policy.name == "CachingOptimized"
    assert behavior.allowed_methods == ("GET", "HEAD")
    assert config.origins[0].port == 3000  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('[default_cache_behavior]\ntarget_origin = "nope"\n',
         "default_cache_behavior.target_origin: unknown origin id 'nope'; known: ['app']"),
        ('[default_cache_behavior]\ntarget_origin = "app"\ntarget_orign = "x"\n',
         "default_cache_behavior.target_orign: unknown key"),
        ('[default_cache_behavior]\ntarget_origin = "app"\n'
         'functions.origin-request = { cloudfront_function = "fns/a.js" }\n',
         "default_cache_behavior.functions.origin-request: a CloudFront Function can only run on viewer-request or viewer-response"),
        ('[default_cache_behavior]\ntarget_origin = "app"\n'
         'functions.viewer-request = { cloudfront_function = "fns/a.js" }\n'
         'functions.viewer-response = { lambda = "fns/h.py:handler" }\n',
         "default_cache_behavior.functions.viewer-response: a behavior with a CloudFront Function cannot also have a Lambda@Edge function on a viewer event (CloudFront docs: \"Restrictions on all edge functions\")"),
        ('[default_cache_behavior]\ntarget_origin = "app"\n'
         'functions.viewer-request = { cloudfront_function = "fns/missing.js" }\n',
         "default_cache_behavior.functions.viewer-request: function file not found"),
        ('[default_cache_behavior]\ntarget_origin = "app"\n'
         'functions.viewer-request = { lambda = "fns/h.py:handler", timeout = 10 }\n',
         "default_cache_behavior.functions.viewer-request.timeout: 10 s is over Lambda@Edge's 5 s for viewer-request"),
        ('[default_cache_behavior]\ntarget_origin = "app"\n'
         'functions.viewer-response = { lambda = "fns/h.py:handler", memory = 512 }\n',
         "default_cache_behavior.functions.viewer-response.memory: 512 MB is over Lambda@Edge's 128 MB"),
        ('[default_cache_behavior]\ntarget_origin = "app"\n'
         '[[cache_behaviors]]\npath_pattern = "/images/<x>"\ntarget_origin = "app"\n',
         "cache_behaviors[0].path_pattern: '/images/<x>' is not a CloudFront path pattern"),
        ('[default_cache_behavior]\ntarget_origin = "app"\nallowed_methods = ["GET", "POST"]\n',
         "default_cache_behavior.allowed_methods: CloudFront accepts only"),
        ('[default_cache_behavior]\ntarget_origin = "app"\ncache_policy = "CachingFast"\n',
         "default_cache_behavior.cache_policy: unknown managed cache policy 'CachingFast'"),
        ('[default_cache_behavior]\ntarget_origin = "app"\n'
         'functions.viewer-request = { cloudfront_function = "fns/a.js", runtime = "cloudfront-js-3.0" }\n',
         "default_cache_behavior.functions.viewer-request"),
    ],
)
def test_deploy_time_refusals_name_field_and_fix(tmp_path: Path, toml: str, expected: str) -> None:
    problems = problems_of(tmp_path, BASE + toml)
    assert any(expected in p for p in problems), problems
    assert all(p.startswith(str(tmp_path / "edgesim.toml")) for p in problems)


def test_two_functions_on_one_event_is_a_toml_error_with_line(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, BASE + '[default_cache_behavior]\ntarget_origin = "app"\n'
                           'functions.viewer-request = { cloudfront_function = "fns/a.js" }\n'
                           'functions.viewer-request = { cloudfront_function = "fns/b.js" }\n')
    assert "not valid TOML" in problems[0] and "line 8" in problems[0]
    assert "at most one function per event type" in problems[0]


def test_a_toml_error_shows_its_line_with_a_caret_under_the_column(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, '[[origins]]\nid = "app"\nurl = "http://127.0.0.1:8931\n')
    # FILE:LINE:COLUMN at the head, as check's other lines place a problem, for an editor's or a CI
    # job's problem matcher.
    assert problems[0].startswith(f"{tmp_path / 'edgesim.toml'}:3:29: not valid TOML: ")
    assert problems[0].endswith("not valid TOML: Illegal character '\\n' (at line 3, column 29) - is a string's "
                                "closing quote missing?\n"
                                '    3 | url = "http://127.0.0.1:8931\n'
                                "      |                             ^")


def test_flat_quotas_allow_longer_viewer_timeouts(tmp_path: Path) -> None:
    text = ('[distribution]\nlambda_quotas = "flat"\n' + BASE + '[default_cache_behavior]\ntarget_origin = "app"\n'
            'functions.viewer-request = { lambda = "fns/h.py:handler", timeout = 10 }\n')
    config = load_config(write(tmp_path, text))
    assert config.distribution.lambda_quotas == "flat"


def test_bad_origin_url_and_missing_file(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, '[[origins]]\nid = "app"\nurl = "ftp://x"\n[default_cache_behavior]\ntarget_origin = "app"\n')
    assert any("origins[0].url: 'ftp://x' is not an http(s) URL" in p for p in problems), problems
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "absent.toml")


def test_every_problem_is_reported_once_per_line(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, BASE + '[default_cache_behavior]\ntarget_origin = "x"\n'
                           '[[cache_behaviors]]\npath_pattern = "/a/*"\ntarget_origin = "y"\n')
    assert len(problems) == 2


def test_readme_config_example_is_valid(tmp_path: Path) -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    example = readme.split("```toml\n", 1)[1].split("```", 1)[0]
    for rel in ("functions/cff/add-index.js", "functions/lambda/security_headers.py", "functions/lambda/auth.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("")
    (tmp_path / "site").mkdir()
    (tmp_path / "edgesim.toml").write_text(example)
    config = load_config(tmp_path / "edgesim.toml")
    assert [b.path_pattern for b in config.behaviors()] == ["/static/*", "/api/*", "*"]
    assert config.cache_behaviors[0].cache_policy.query_strings.items == ("v",)


def test_a_config_that_is_not_utf8_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "edgesim.toml"
    path.write_bytes(b"\xff\xfe[[origins]]\n")
    with pytest.raises(ConfigError, match=r"edgesim.toml: config is not UTF-8 text \(byte 0\)"):
        load_config(path)


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        # An unknown key in a custom origin is one line, not the S3-style origin's complaints too.
        ('[[origins]]\nid = "app"\nurl = "http://127.0.0.1:3000"\nconect_timeout = 2\n',
         ["origins[0].conect_timeout: unknown key"]),
        # CloudFront's origin timeouts: connection 1–10 s, response 1–120 s (spec §1.7).
        ('[[origins]]\nid = "app"\nurl = "http://127.0.0.1:3000"\nread_timeout = 0.5\nconnect_timeout = 0.2\n',
         ["origins[0].connect_timeout: Input should be greater than or equal to 1",
          "origins[0].read_timeout: Input should be greater than or equal to 1"]),
        ('[[origins]]\nid = "app"\ndirectory = "site"\nurl_path = "/x"\n',
         ["origins[0].url_path: unknown key"]),
        ('[[origins]]\nid = "app"\nurl = "ftp://x"\n',
         ["origins[0].url: 'ftp://x' is not an http(s) URL"]),
        ('[[origins]]\nid = "app"\n',
         ["origins[0]: an origin needs `url` (a custom origin) or `directory`"]),
        (BASE + '[default_cache_behavior]\ntarget_origin = "app"\n'
         'functions.viewer-request = { cloudfront_function = "fns/a.js", runtme = "cloudfront-js-1.0" }\n',
         ["default_cache_behavior.functions.viewer-request.runtme: unknown key"]),
        (BASE + '[default_cache_behavior]\ntarget_origin = "app"\n'
         'functions.origin-request = { lambda = "fns/h.py:handler", timout = 3 }\n',
         ["default_cache_behavior.functions.origin-request.timout: unknown key"]),
        (BASE + '[default_cache_behavior]\ntarget_origin = "app"\n'
         'functions.origin-request = { function = "fns/h.py:handler" }\n',
         ["default_cache_behavior.functions.origin-request: a function association needs `cloudfront_function`"]),
        (BASE + '[default_cache_behavior]\ntarget_origin = "app"\n'
         'functions.viewer_request = { cloudfront_function = "fns/a.js" }\n',
         ["default_cache_behavior.functions.viewer_request: Input should be 'viewer-request'"]),
    ],
)
def test_an_origin_or_function_problem_is_told_once_for_its_kind(tmp_path: Path, toml: str,
                                                                  expected: list[str]) -> None:
    problems = problems_of(tmp_path, toml if toml.startswith(BASE) else toml
                           + '[default_cache_behavior]\ntarget_origin = "app"\n')
    assert len(problems) == len(expected), problems
    for problem, want in zip(problems, expected):
        assert want in problem, problems


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        (BASE + '[default_cache_behavior]\ntarget_origin = "app"\ncache_polcy = "CachingDisabled"\n',
         ["default_cache_behavior.cache_polcy: unknown key; did you mean 'cache_policy'?"]),
        # One mistake, one line: not also "origins: required field is missing".
        ('[[origin]]\nid = "app"\nurl = "http://127.0.0.1:3000"\n[default_cache_behavior]\ntarget_origin = "app"\n',
         ["origin: unknown key; did you mean 'origins'? (that field is required and missing)"]),
        (BASE + '[default_cache_behavior]\ntargt_origin = "app"\n',
         ["default_cache_behavior.targt_origin: unknown key; did you mean 'target_origin'? (that field is required and missing)"]),
        ('[[origins]]\nid = "app"\nurl = "http://127.0.0.1:3000"\nconect_timeout = 2\n[default_cache_behavior]\ntarget_origin = "app"\n',
         ["origins[0].conect_timeout: unknown key; did you mean 'connect_timeout'?"]),
        ('[[origins]]\nid = "app"\nurll = "http://127.0.0.1:3000"\n[default_cache_behavior]\ntarget_origin = "app"\n',
         ["origins[0]: an origin needs `url` (a custom origin) or `directory` (a local folder served as an S3 "
          "origin); `urll` is not a key it takes: did you mean `url`?"]),
        (BASE + '[default_cache_behavior]\ntarget_origin = "app"\n'
         'functions.viewer-request = { cloudfront_funtion = "fns/a.js" }\n',
         ["default_cache_behavior.functions.viewer-request: a function association needs `cloudfront_function` "
          "(a CloudFront Function) or `lambda` (a Lambda@Edge handler); `cloudfront_funtion` is not a key it takes: "
          "did you mean `cloudfront_function`?"]),
        (BASE + '[default_cache_behavior]\ntarget_origin = "app"\n'
         'functions.origin-request = { function = "fns/h.py:handler" }\n',
         ["default_cache_behavior.functions.origin-request: a function association needs `cloudfront_function` "
          "(a CloudFront Function) or `lambda` (a Lambda@Edge handler); it has `function`"]),
        (BASE + '[default_cache_behavior]\ntarget_origin = "app"\n'
         'functions.origin-request = { lambda = "fns/h.py:handler", timout = 3 }\n',
         ["default_cache_behavior.functions.origin-request.timout: unknown key; did you mean 'timeout'?"]),
        (BASE + '[default_cache_behavior]\ntarget_origin = "app"\n'
         'functions.viewer_request = { cloudfront_function = "fns/a.js" }\n',
         ["default_cache_behavior.functions.viewer_request: Input should be 'viewer-request', 'origin-request', "
          "'origin-response' or 'viewer-response'; did you mean 'viewer-request'?"]),
        (BASE + '[default_cache_behavior]\ntarget_origin = "app"\n'
         'cache_policy = { min_ttl = 0, query_string = { behavior = "all" } }\n',
         ["default_cache_behavior.cache_policy.query_string: unknown key; did you mean 'query_strings'?"]),
        (BASE + '[default_cache_behavior]\ntarget_origin = "app"\n'
         'origin_request_policy = { cookies = { behaviour = "all" } }\n',
         ["default_cache_behavior.origin_request_policy.cookies.behaviour: unknown key; did you mean 'behavior'?"]),
        (BASE + '[default_cache_behavior]\ntarget_origin = "app"\n[[cache_behaviors]]\npath_pattern = "/a"\n'
         'target_origin = "app"\nresponse_headers_policy = { cors = { allow_origin = ["*"] } }\n',
         ["cache_behaviors[0].response_headers_policy.cors.allow_origin: unknown key; did you mean 'allow_origins'?"]),
        ('[distributon]\nid = "E1"\n[viewer]\ncuntry = "FR"\n' + BASE + '[default_cache_behavior]\ntarget_origin = "app"\n'
         '[[custom_error_responses]]\nerror_cod = 404\n',
         ["custom_error_responses[0].error_cod: unknown key; did you mean 'error_code'? (that field is required and missing)",
          "viewer.cuntry: unknown key; did you mean 'country'?",
          "distributon: unknown key; did you mean 'distribution'?"]),
        # Nothing close: no guess, the old advice.
        (BASE + '[default_cache_behavior]\ntarget_origin = "app"\nzzz = 1\n',
         ["default_cache_behavior.zzz: unknown key (check its spelling; edgesim refuses keys it does not know)"]),
    ],
)
def test_an_unknown_key_names_the_key_probably_meant(tmp_path: Path, toml: str, expected: list[str]) -> None:
    problems = problems_of(tmp_path, toml)
    assert [unplaced(p, tmp_path / "edgesim.toml") for p in problems] == expected


@pytest.mark.parametrize("runtime", ["python3.99", "python3.6", "python2.7", "nodejs19.x", "nodejs8.10", "java21"])
def test_a_runtime_lambda_at_edge_does_not_have_is_refused_naming_the_field(tmp_path: Path, runtime: str) -> None:
    handler = "fns/h.py:handler" if runtime.startswith("python") else "fns/a.js:handler"
    problems = problems_of(tmp_path, BASE + '[default_cache_behavior]\ntarget_origin = "app"\n'
                           f'functions.origin-response = {{ lambda = "{handler}", runtime = "{runtime}" }}\n')
    assert len(problems) == 1, problems
    assert unplaced(problems[0], tmp_path / "edgesim.toml").startswith(
        f"default_cache_behavior.functions.origin-response.runtime: {runtime!r} is not a runtime Lambda@Edge "
        "supports (CloudFront docs: \"Restrictions on Lambda@Edge\"); use one of: "), problems
    listed = "python3.14, python3.13, python3.12, python3.11, python3.10, python3.9, python3.8, python3.7"
    # The same language's runtimes; every one for a language Lambda@Edge does not run at all.
    assert (listed in problems[0]) == (not runtime.startswith("node")), problems
    assert ("nodejs24.x, nodejs22.x, nodejs20.x" in problems[0]) == (not runtime.startswith("python")), problems


@pytest.mark.parametrize("runtime", ["python3.14", "python3.7", "nodejs24.x", "nodejs10.x"])
def test_every_runtime_lambda_at_edge_supports_loads(tmp_path: Path, runtime: str) -> None:
    handler = "fns/h.py:handler" if runtime.startswith("python") else "fns/a.js:handler"
    config = load_config(write(tmp_path, BASE + '[default_cache_behavior]\ntarget_origin = "app"\n'
                               f'functions.origin-response = {{ lambda = "{handler}", runtime = "{runtime}" }}\n'))
    assert config.default_cache_behavior.functions["origin-response"].runtime == runtime  # type: ignore[index]


SHADOWED = BASE + """[default_cache_behavior]
target_origin = "app"
[[cache_behaviors]]
path_pattern = "/api/*"
target_origin = "app"
[[cache_behaviors]]
path_pattern = "/api/*"
target_origin = "app"
[[cache_behaviors]]
path_pattern = "/api/data.json"
target_origin = "app"
"""


def test_behaviors_no_request_can_reach_are_warnings_in_check_and_the_banner(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from edgesim.cli import main
    from edgesim.config import config_warnings
    from edgesim.server import banner
    from edgesim.simulator import Simulator

    path = write(tmp_path, SHADOWED)
    config = load_config(path)  # loads: CloudFront is not known to refuse them
    expected = [f"{path}: cache_behaviors[1].path_pattern: '/api/*' is also cache_behaviors[0]'s pattern",
                f"{path}: cache_behaviors[2].path_pattern: '/api/data.json' can never match: cache_behaviors[0]"]
    warnings = config_warnings(config)
    assert len(warnings) == 2 and all(w.startswith(e) for w, e in zip(warnings, expected)), warnings
    result = CliRunner().invoke(main, ["check", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert [line for line in result.output.splitlines() if line.startswith("warning: ")] == [
        f"warning: {w}" for w in warnings]
    shown = banner(Simulator(config), "http://127.0.0.1:8080/")
    assert [line for line in shown.splitlines() if "warning" in line] == [f"  ! warning: {w}" for w in warnings]
    assert config_warnings(load_config(write(tmp_path, BASE + '[default_cache_behavior]\ntarget_origin = "app"\n'))) == []


@pytest.mark.parametrize(("directory", "said"), [("sites", "does not exist"), ("site/index.html", "is a file, not a folder")])
def test_a_directory_origin_without_its_folder_is_a_warning_in_check_and_the_banner(tmp_path: Path, directory: str,
                                                                                   said: str) -> None:
    """It loads (the folder may be a build's output, made later) but every request got S3's 403
    with nothing saying why."""
    from click.testing import CliRunner

    from edgesim.cli import main
    from edgesim.server import behaviors_text

    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("hi", encoding="utf-8")
    text = f'[[origins]]\nid = "site"\ndirectory = "{directory}"\n[default_cache_behavior]\ntarget_origin = "site"\n'
    path = write(tmp_path, text)
    expected = (f"warning: {path}: origins[0].directory: {(tmp_path / directory).resolve()} {said}: every request "
                "to origin 'site' gets S3's 403 AccessDenied until it is a folder")
    result = CliRunner().invoke(main, ["check", "--config", str(path)])
    assert result.exit_code == 0 and expected in result.output.splitlines(), result.output
    assert expected.removeprefix("warning: ") in behaviors_text(load_config(path))
    assert config_warnings(load_config(write(tmp_path, text.replace(directory, "site")))) == []


@pytest.mark.parametrize(("line", "table", "written"), [
    ('lambda_function_associations = []', "default_cache_behavior", 'functions.origin-request = { lambda ='),
    ('function_associations = []', "default_cache_behavior", 'functions.viewer-request = { cloudfront_function ='),
    ('min_ttl = 0', "default_cache_behavior", "cache_policy = { min_ttl = 0"),
    ('target_origin_id = "app"', "default_cache_behavior", 'target_origin = "<origin id>"'),
    ('cache_policy_id = "658327ea-f89d-4fab-a63d-7e88639e58f6"', "default_cache_behavior", "cache_policy ="),
])
def test_cloudfront_api_names_point_to_edgesims(tmp_path: Path, line: str, table: str, written: str) -> None:
    """A key in CloudFront's API words (its DistributionConfig, CloudFormation) is told how edgesim's
    config writes it, not just that it is unknown."""
    problems = problems_of(tmp_path, BASE + f'[default_cache_behavior]\ntarget_origin = "app"\n{line}\n')
    key = line.split(" ", 1)[0]
    assert len(problems) == 1 and f"{table}.{key}: unknown key; CloudFront's {key} is written here as {written}" \
        in problems[0], problems


@pytest.mark.parametrize(("toml", "expected"), [
    # Keys copied from CloudFront's JSON (get-distribution-config, CloudFormation) are PascalCase:
    # the location names the key (it was left out), and the message says how edgesim writes it.
    (BASE + '[default_cache_behavior]\nTargetOriginId = "app"\n',
     ["default_cache_behavior.TargetOriginId: unknown key; CloudFront's TargetOriginId is written here as "
      'target_origin = "<origin id>" (see the README\'s config) (that field is required and missing)']),
    (BASE + '[default_cache_behavior]\ntarget_origin = "app"\nViewerProtocolPolicy = "allow-all"\n',
     ["default_cache_behavior.ViewerProtocolPolicy: unknown key; edgesim's keys are snake_case: "
      "write 'viewer_protocol_policy'"]),
    (BASE + '[default_cache_behavior]\ntarget_origin = "app"\ncache_policy = { DefaultTTL = 60 }\n',
     ["default_cache_behavior.cache_policy.DefaultTTL: unknown key; edgesim's keys are snake_case: write 'default_ttl'"]),
    (BASE + '[default_cache_behavior]\ntarget_origin = "app"\n'
            '[geo_restriction]\nRestrictionType = "whitelist"\nQuantity = 1\nItems = ["US"]\n',
     ["geo_restriction.RestrictionType: unknown key; edgesim's keys are snake_case: write 'restriction_type'",
      "geo_restriction.Quantity: unknown key; CloudFront's Quantity is written here as "
      'locations = ["US", "CA"] alone (edgesim counts them) (see the README\'s config)',
      "geo_restriction.Items: unknown key; CloudFront's Items is written here as "
      'locations = ["US", "CA"] (see the README\'s config)']),
])
def test_keys_in_cloudfronts_json_case_are_named_and_told_how_to_write(tmp_path: Path, toml: str,
                                                                        expected: list[str]) -> None:
    problems = problems_of(tmp_path, toml)
    assert [unplaced(p, tmp_path / "edgesim.toml") for p in problems] == expected


@pytest.mark.parametrize(("toml", "expected"), [
    ('lambda_aws_credentials = true\n' + BASE + '[default_cache_behavior]\ntarget_origin = "app"\n',
     "lambda_aws_credentials: unknown key here; lambda_aws_credentials goes under [distribution]"),
    (BASE + '[default_cache_behavior]\ntarget_origin = "app"\nrequest_collapsing = false\n',
     "default_cache_behavior.request_collapsing: unknown key here; request_collapsing goes under [distribution]"),
    ('[distribution]\ncountry = "FR"\n' + BASE + '[default_cache_behavior]\ntarget_origin = "app"\n',
     "distribution.country: unknown key here; country goes under [viewer]"),
    (BASE + '[default_cache_behavior]\ntarget_origin = "app"\n[viewer]\nrestriction_type = "whitelist"\n',
     "viewer.restriction_type: unknown key here; restriction_type goes under [geo_restriction]"),
])
def test_a_key_of_another_table_is_told_where_it_goes(tmp_path: Path, toml: str, expected: str) -> None:
    """It was "unknown key (check its spelling...)": spelt right, in the wrong table."""
    problems = problems_of(tmp_path, toml)
    assert [unplaced(p, tmp_path / "edgesim.toml") for p in problems] == [expected]


def test_an_origin_path_points_to_the_url(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, '[[origins]]\nid = "app"\nurl = "http://127.0.0.1:3000"\norigin_path = "/v1"\n'
                                     '[default_cache_behavior]\ntarget_origin = "app"\n')
    assert problems and 'url = "http://127.0.0.1:3000/v1"' in problems[0], problems


def test_managed_policies_by_cloudfronts_own_names(tmp_path: Path) -> None:
    """CloudFront's API and console call them Managed-CachingOptimized, Managed-AllViewer..."""
    config = load_config(write(tmp_path, BASE + '[default_cache_behavior]\ntarget_origin = "app"\n'
                                                'cache_policy = "Managed-CachingDisabled"\n'
                                                'origin_request_policy = "Managed-AllViewer"\n'
                                                'response_headers_policy = "Managed-SecurityHeadersPolicy"\n'))
    behavior = config.default_cache_behavior
    assert behavior.cache_policy.name == "CachingDisabled"
    assert behavior.origin_request_policy is not None and behavior.origin_request_policy.name == "AllViewer"
    assert behavior.response_headers_policy is not None
    assert behavior.response_headers_policy.name == "SecurityHeadersPolicy"


@pytest.mark.parametrize(("written", "meant"), [
    ("CachingOptimised", "CachingOptimized"),
    ("managed-cachingoptimized", "CachingOptimized"),
    ("Managed-CachingDisabeld", "CachingDisabled"),
    ("cachingdisabled", "CachingDisabled"),
])
def test_a_misspelt_managed_policy_is_told_the_name_meant(tmp_path: Path, written: str, meant: str) -> None:
    problems = problems_of(tmp_path, BASE + f'[default_cache_behavior]\ntarget_origin = "app"\ncache_policy = "{written}"\n')
    assert len(problems) == 1 and f"unknown managed cache policy {written!r}; did you mean {meant!r}?" in problems[0], \
        problems


@pytest.mark.parametrize(("table", "expected"), [
    ('[geo_restriction]\nrestriction_type = "Whitelist"\nlocations = ["US"]\n',
     "geo_restriction.restriction_type: Input should be 'none', 'whitelist' or 'blacklist'; did you mean 'whitelist'?"),
    ('[geo_restriction]\nrestriction_type = "whitelist"\nlocations = "US"\n',
     'geo_restriction.locations: should be a list; write ["US"]'),
    ('[default_cache_behavior]\ntarget_origin = "app"\nviewer_protocol_policy = "Redirect-To-HTTPS"\n',
     "default_cache_behavior.viewer_protocol_policy: Input should be 'allow-all', 'redirect-to-https' or "
     "'https-only'; did you mean 'redirect-to-https'?"),
    ('[default_cache_behavior]\ntarget_origin = "app"\ncached_methods = "GET"\n',
     'default_cache_behavior.cached_methods: should be a list; write ["GET"]'),
])
def test_a_value_in_the_wrong_case_or_not_a_list_is_told_what_to_write(tmp_path: Path, table: str,
                                                                         expected: str) -> None:
    toml = BASE + table if table.startswith("[default") else BASE + '[default_cache_behavior]\ntarget_origin = "app"\n' + table
    problems = problems_of(tmp_path, toml)
    assert [unplaced(p, tmp_path / "edgesim.toml") for p in problems] == [expected]


@pytest.mark.parametrize(("toml", "expected"), [
    (BASE.replace("[[origins]]", "[origins]") + '[default_cache_behavior]\ntarget_origin = "app"\n',
     "origins: should be a list of tables; head each one [[origins]] (two brackets), not [origins]"),
    (BASE + '[[default_cache_behavior]]\ntarget_origin = "app"\n',
     "default_cache_behavior: should be one table; head it [default_cache_behavior] (one bracket), "
     "not [[default_cache_behavior]]"),
])
def test_a_table_with_the_wrong_brackets_is_told_which_to_write(tmp_path: Path, toml: str, expected: str) -> None:
    from click.testing import CliRunner

    from edgesim.cli import main

    path = write(tmp_path, toml)
    result = CliRunner().invoke(main, ["check", "--config", str(path)])
    assert result.exit_code == 1
    assert unplaced_output(result.output, path) == [f"error: {path}: {expected}"]


@pytest.mark.parametrize("handler", ["fns/h.py", "fns/a.js"])
def test_a_lambda_naming_only_its_file_is_told_to_name_the_function(tmp_path: Path, handler: str) -> None:
    from click.testing import CliRunner

    from edgesim.cli import main

    path = write(tmp_path, BASE + f'[default_cache_behavior]\ntarget_origin = "app"\n'
                                  f'functions.origin-request = {{ lambda = "{handler}" }}\n')
    result = CliRunner().invoke(main, ["check", "--config", str(path)])
    assert result.exit_code == 1
    assert unplaced_output(result.output, path) == [
        f"error: {path}: default_cache_behavior.functions.origin-request: '{handler}' names the file but not "
        f"the function Lambda calls; write '{handler}:handler'"]


def test_check_without_a_config_of_yours_fails_and_names_the_one_above(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --config and without ./edgesim.toml, `check` said ok of the embedded default: a CI job
    run in the wrong folder went green. It refuses (exit 2), naming a parent folder's config if any."""
    from click.testing import CliRunner

    from edgesim.cli import main

    path = write(tmp_path, BASE + '[default_cache_behavior]\ntarget_origin = "app"\n')
    monkeypatch.chdir(tmp_path / "fns")
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        f"error: no edgesim.toml in {tmp_path / 'fns'}, so nothing of yours to check; {path} is a parent "
        f"folder's: run from {tmp_path} or pass --config {path}"]
    monkeypatch.chdir(tmp_path.parent)  # no config here (and none above, unless the machine has one)
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 2 and "so nothing of yours to check; " in result.stderr, result.output
    monkeypatch.chdir(tmp_path)  # the config is here: checked
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 0 and result.stderr == "", result.output


@pytest.mark.parametrize(("association", "files", "expected"), [
    ('{ cloudfront_function = "fns/h.py" }', {},
     "h.py is Python; a CloudFront Function is JavaScript (CloudFront docs: \"Determine function purpose\"): "
     "a Python handler runs as Lambda@Edge: lambda = \"file.py:handler\" in the config, "
     "`edgesim invoke file.py:handler` alone"),
    ('{ cloudfront_function = "fns/edge.ts" }', {"fns/edge.ts": "function handler(event: any) { return event.request; }\n"},
     "edge.ts is TypeScript; a CloudFront Function is JavaScript (CloudFront docs: \"Determine function purpose\"): "
     "compile it and point cloudfront_function at the .js"),
    ('{ lambda = "fns/edge.ts:handler" }', {"fns/edge.ts": "export const handler = async (e: any) => e;\n"},
     "edge.ts is TypeScript; Lambda@Edge runs Python (.py) and Node.js (.js, .mjs, .cjs) handlers: point lambda "
     "at the compiled JavaScript, e.g. \"dist/edge.js:handler\""),
    # A dotted module that is not there: the file it would be, not "runtime 'python3.12' does not match".
    ('{ lambda = "pkg.auth:handler" }', {}, "handler file not found: {tmp}/pkg/auth.py (there is no folder {tmp}/pkg)"),
])
def test_a_function_file_in_the_wrong_language_or_missing_module_is_told_plainly(
        tmp_path: Path, association: str, files: dict[str, str], expected: str) -> None:
    from click.testing import CliRunner

    from edgesim.cli import main

    path = write(tmp_path, BASE + f'[default_cache_behavior]\ntarget_origin = "app"\n'
                                  f'functions.viewer-request = {association}\n')
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    result = CliRunner().invoke(main, ["check", "--config", str(path)])
    assert result.exit_code == 1
    assert unplaced_output(result.output, path) == [
        f"error: {path}: default_cache_behavior.functions.viewer-request: {expected.format(tmp=tmp_path)}"]


@pytest.mark.parametrize(("table", "where", "expected"), [
    ('[[origins]]\nid = "app"\nurl = "http://127.0.0.1:3000"\ndirectory = "site"\n', "origins[0]",
     "an origin needs `url` (a custom origin) or `directory` (a local folder served as an S3 origin): one of "
     "them, not `url` and `directory`"),
    ('[[origins]]\nid = "app"\nurl = "s3://my-bucket"\n', "origins[0].url",
     "'s3://my-bucket' is an S3 bucket, which edgesim serves from a local folder: write "
     "directory = \"path/to/the/files\" in place of url"),
    ('[[origins]]\nid = "app"\nurl = "http://127.0.0.1:3000"\n[default_cache_behavior]\ntarget_origin = "app"\n'
     'functions.viewer-request = { cloudfront_function = "fns/a.js", lambda = "fns/h.py:handler" }\n',
     "default_cache_behavior.functions.viewer-request",
     "a function association needs `cloudfront_function` (a CloudFront Function) or `lambda` (a Lambda@Edge "
     "handler): one of them, not `cloudfront_function` and `lambda`"),
])
def test_an_origin_or_function_of_two_kinds_at_once_or_an_s3_url_is_told_which_to_keep(
        tmp_path: Path, table: str, where: str, expected: str) -> None:
    from click.testing import CliRunner

    from edgesim.cli import main

    if "[default_cache_behavior]" not in table:
        table += '[default_cache_behavior]\ntarget_origin = "app"\n'
    path = write(tmp_path, table)
    result = CliRunner().invoke(main, ["check", "--config", str(path)])
    assert result.exit_code == 1
    assert unplaced_output(result.output, path) == [f"error: {path}: {where}: {expected}"]


@pytest.mark.parametrize(("key", "said"), [
    ("environment = { TABLE = \"t\" }",
     "environment: Lambda@Edge does not support environment variables; put the values in the code or a file "
     "deployed with it (CloudFront docs: \"Restrictions on Lambda@Edge\")"),
    ("layers = [\"arn:aws:lambda:us-east-1:1:layer:x:1\"]",
     "layers: Lambda@Edge does not support layers; deploy the dependencies in the function's own package "
     "(CloudFront docs: \"Restrictions on Lambda@Edge\")"),
])
def test_a_lambda_feature_lambda_at_edge_lacks_is_named_as_such_not_as_a_misspelling(tmp_path: Path, key: str,
                                                                                     said: str) -> None:
    from click.testing import CliRunner

    from edgesim.cli import main

    path = write(tmp_path, BASE + '[default_cache_behavior]\ntarget_origin = "app"\n'
                                  f'functions.origin-request = {{ lambda = "fns/h.py:handler", {key} }}\n')
    result = CliRunner().invoke(main, ["check", "--config", str(path)])
    assert result.exit_code == 1
    assert unplaced_output(result.output, path) == [f"error: {path}: default_cache_behavior.functions.origin-request.{said}"]


@pytest.mark.parametrize(("name", "code", "line"), [
    ("h2.py", 'import os\n\nTABLE = os.environ["EDGESIM_TEST_UNSET"]\n\ndef handler(event, context):\n    return event\n', 3),
    ("h2.js", "const helper = {};\nconst table = helper.config.table;\nexports.handler = async (e) => e;\n", 2),
])
def test_a_handler_that_fails_at_import_is_placed_at_its_line(tmp_path: Path, name: str, code: str,
                                                               line: int) -> None:
    """Lambda's error names only the exception (KeyError: 'TABLE'); check names the line that raised it."""
    from click.testing import CliRunner

    from edgesim.cli import main

    path = write(tmp_path, BASE + '[default_cache_behavior]\ntarget_origin = "app"\n'
                                  f'functions.origin-request = {{ lambda = "fns/{name}:handler" }}\n')
    (tmp_path / "fns" / name).write_text(code)
    result = CliRunner().invoke(main, ["check", "--config", str(path)])
    assert result.exit_code == 1
    (said,) = result.output.splitlines()
    assert said.startswith(f"error: {tmp_path / 'fns' / name}:{line}: "), said


@pytest.mark.parametrize(("name", "code", "line", "said"), [
    # Lambda's words place a syntax error in the message's tail ("(h2.py, line 3)"); a CI job's
    # problem matcher wants it where every other check line has it: FILE:LINE: at the head.
    ("h2.py", "def handler(event, context):\n    return event\n\ndef broken(:\n    pass\n", 4,
     "Runtime.UserCodeSyntaxError: Syntax error in module 'h2': invalid syntax (h2.py, line 4)"),
    ("h2.js", "exports.handler = async (e) => {\n  return e;\n", 3, "Runtime.UserCodeSyntaxError: SyntaxError: "),
    # Lambda's ImportModuleError has no stack trace: the import statement is found in the source.
    ("h2.py", "import os\nimport not_bundled_xyz.sub\n\ndef handler(event, context):\n    return event\n", 2,
     "Runtime.ImportModuleError: Unable to import module 'h2': No module named 'not_bundled_xyz' (edgesim: "
     "Lambda@Edge runs only what the function's package holds: install it beside the handler, "
     "`pip install not_bundled_xyz --target {folder}`, and deploy it with the code)"),
    # Node's message goes on with its require stack over lines of their own (edgesim's shim among
    # them); check prints one line per problem.
    ("h2.js", "const pad = require('left-pad-nope');\nexports.handler = async (e) => e;\n", 1,
     "Runtime.ImportModuleError: Error: Cannot find module 'left-pad-nope' (edgesim: Lambda@Edge runs only what "
     "the function's package holds: `npm install left-pad-nope` in {folder}, and deploy node_modules with the code)"),
])
def test_a_handler_that_does_not_load_is_one_line_at_its_file_and_line(tmp_path: Path, name: str, code: str,
                                                                        line: int, said: str) -> None:
    from click.testing import CliRunner

    from edgesim.cli import main

    path = write(tmp_path, BASE + '[default_cache_behavior]\ntarget_origin = "app"\n'
                                  f'functions.origin-request = {{ lambda = "fns/{name}:handler" }}\n')
    (tmp_path / "fns" / name).write_text(code)
    result = CliRunner().invoke(main, ["check", "--config", str(path)])
    assert result.exit_code == 1
    (problem,) = result.stderr.splitlines()
    assert problem.startswith(f"error: {tmp_path / 'fns' / name}:{line}: {said.format(folder=tmp_path / 'fns')}"), problem


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("dist.json", '{"DistributionConfig": {"Origins": {"Quantity": 1}}}',
     "this is JSON; the config is TOML (edgesim.toml): `edgesim import {path}` writes one from a distribution "
     "config, a CloudFormation / CDK template, Terraform or a serverless.yml"),
    ("template.yaml", "Resources:\n  Cdn:\n    Type: AWS::CloudFront::Distribution\n",
     "this is YAML; the config is TOML (edgesim.toml): `edgesim import {path}` writes one from a distribution "
     "config, a CloudFormation / CDK template, Terraform or a serverless.yml"),
    ("cases.yaml", "config: edgesim.toml\ncases:\n  - name: home\n",
     "this is an `edgesim test` cases file, not a config: run it with `edgesim test {path}`"),
])
def test_a_config_that_is_another_format_names_the_command_for_it(tmp_path: Path, name: str, text: str,
                                                                  expected: str) -> None:
    from click.testing import CliRunner

    from edgesim.cli import main

    path = tmp_path / name
    path.write_text(text)
    result = CliRunner().invoke(main, ["check", "--config", str(path)])
    assert result.exit_code == 1
    assert unplaced_output(result.output, path) == [f"error: {path}: {expected.format(path=path)}"]


@pytest.mark.parametrize(("line", "written"), [
    ('functions.viewer-request = "fns/a.js"', '{ cloudfront_function = "fns/a.js" }'),
    ('functions.origin-request = "fns/h.py:handler"', '{ lambda = "fns/h.py:handler" }'),
])
def test_a_function_given_as_a_bare_file_is_told_the_table_to_write(tmp_path: Path, line: str, written: str) -> None:
    from click.testing import CliRunner

    from edgesim.cli import main

    path = write(tmp_path, BASE + f'[default_cache_behavior]\ntarget_origin = "app"\n{line}\n')
    result = CliRunner().invoke(main, ["check", "--config", str(path)])
    assert result.exit_code == 1
    (said,) = unplaced_output(result.output, path)
    assert said.endswith(f"; write {written}"), said


@pytest.mark.parametrize(("origin", "name"), [
    ('url = "http://127.0.0.1:3000"\ncustom_headers = { Host = "example.com" }', "Host"),
    ('url = "http://127.0.0.1:3000"\ncustom_headers = { x-amz-date = "now", x-ok = "1" }', "x-amz-date"),
    ('directory = "."\ncustom_headers = { X-Edge-Thing = "1" }', "X-Edge-Thing"),
    ('url = "http://127.0.0.1:3000"\ncustom_headers = { "Transfer-Encoding" = "chunked" }', "Transfer-Encoding"),
])
def test_an_origin_custom_header_cloudfront_cannot_add_is_refused(tmp_path: Path, origin: str, name: str) -> None:
    # "Custom headers that CloudFront can't add to origin requests" (DG/add-origin-custom-headers; spec §2.3).
    problems = problems_of(tmp_path, f'[[origins]]\nid = "o"\n{origin}\n[default_cache_behavior]\ntarget_origin = "o"\n')
    assert len(problems) == 1, problems
    assert f"origins[0].custom_headers: {name!r} cannot be an origin custom header" in problems[0], problems
    assert "CloudFront does not add" in problems[0]


def test_an_allowed_origin_custom_header_loads(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[[origins]]\nid = "o"\nurl = "http://127.0.0.1:3000"\n'
                                         'custom_headers = { X-Origin-Secret = "s", User-Agent = "u" }\n'
                                         '[default_cache_behavior]\ntarget_origin = "o"\n'))
    assert config.origins[0].custom_headers == {"X-Origin-Secret": "s", "User-Agent": "u"}


def test_a_function_file_not_found_names_the_close_one_in_its_folder(tmp_path: Path) -> None:
    (tmp_path / "fns").mkdir()
    (tmp_path / "fns" / "redirects.js").write_text("function handler(event) { return event.request; }\n")
    (tmp_path / "fns" / "auth.py").write_text("def handler(event, context):\n    return event\n")
    found = problems_of(tmp_path, BASE + '[default_cache_behavior]\ntarget_origin = "app"\n'
                        'functions.viewer-request = { cloudfront_function = "fns/redirect.js" }\n'
                        'functions.origin-request = { lambda = "fns/auht.py:handler" }\n'
                        '[[cache_behaviors]]\npath_pattern = "/x"\ntarget_origin = "app"\n'
                        'functions.origin-request = { lambda = "lib/auth.py:handler" }\n')
    fns, file = tmp_path / "fns", tmp_path / "edgesim.toml"
    # Each at the line of its association (BASE's first line is blank).
    assert f"{file}:7: default_cache_behavior.functions.viewer-request: function file not found: {fns / 'redirect.js'}; " \
           f"did you mean {fns / 'redirects.js'}?" in found
    assert f"{file}:8: default_cache_behavior.functions.origin-request: handler file not found: {fns / 'auht.py'}; " \
           f"did you mean {fns / 'auth.py'}?" in found
    # No folder of that name: said so, rather than a guess.
    assert f"{file}:12: cache_behaviors[0].functions.origin-request: handler file not found: " \
           f"{tmp_path / 'lib' / 'auth.py'} (there is no folder {tmp_path / 'lib'})" in found


@pytest.mark.parametrize("behavior", ["whitelist", "allViewerAndWhitelistCloudFront"])
def test_an_origin_request_policy_naming_authorization_is_refused_as_cloudfront_refuses_it(
        tmp_path: Path, behavior: str) -> None:
    problems = problems_of(tmp_path, BASE + '[default_cache_behavior]\ntarget_origin = "app"\norigin_request_policy = '
                           f'{{ header_behavior = "{behavior}", headers = ["x-a", "Authorization"] }}\n')
    assert len(problems) == 1, problems
    assert "default_cache_behavior.origin_request_policy" in problems[0], problems
    assert "The parameter Headers contains Authorization that is not allowed" in problems[0]
    assert "cache policy" in problems[0]


def test_an_origin_request_policy_excluding_authorization_or_forwarding_all_loads(tmp_path: Path) -> None:
    for orp in ('{ header_behavior = "allExcept", headers = ["Authorization"] }', '"AllViewer"'):
        config = load_config(write(tmp_path, BASE + '[default_cache_behavior]\ntarget_origin = "app"\n'
                                   f'origin_request_policy = {orp}\n'))
        assert config.default_cache_behavior.origin_request_policy is not None


def test_a_long_banner_ends_with_the_url_again(tmp_path: Path) -> None:
    """30 behaviors make a banner of 40 lines: its URL, second, has scrolled off a terminal; it is
    said again last, where the eye is (as Vite's and wrangler's banners end with theirs)."""
    from edgesim.server import banner
    from edgesim.simulator import Simulator

    behaviors = "".join(f'[[cache_behaviors]]\npath_pattern = "/s{n}/*"\ntarget_origin = "app"\n' for n in range(30))
    config = load_config(write(tmp_path, BASE + '[default_cache_behavior]\ntarget_origin = "app"\n' + behaviors))
    lines = banner(Simulator(config), "http://127.0.0.1:8080/").splitlines()
    assert lines[1] == "  http://127.0.0.1:8080/"
    assert lines[-1] == "  ready on http://127.0.0.1:8080/"
    short = load_config(write(tmp_path, BASE + '[default_cache_behavior]\ntarget_origin = "app"\n'))
    assert banner(Simulator(short), "http://127.0.0.1:8080/").count("http://127.0.0.1:8080/") == 1
