"""`edgesim test CASES.yaml`: cases as data, summary, exit status, JUnit XML, clear errors."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import API_CONFIG as CONFIG
from edgesim.cases import load_cases, run_cases
from edgesim.cli import main
from edgesim.errors import ConfigError


CASES = """
config: dist.toml
origins:
  api:
    /: {status: 200, headers: {content-type: text/html}, body: "<h1>home</h1>"}
    /gone: {status: 404, body: gone}
cases:
  - name: home page
    request: {path: /}
    expect:
      status: 200
      headers: {content-type: text/html, x-cache: Miss from cloudfront, x-absent: null, via: true}
      body_contains: ["<h1>", "home"]
      cache: Miss
      triggers: []
  - name: gone
    request: {method: GET, path: /gone}
    expect: {status: 404, body: gone, cache: Error}
"""


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    (tmp_path / "dist.toml").write_text(CONFIG)
    path = tmp_path / "cases.yaml"
    path.write_text(CASES)
    return path


async def test_cases_pass(suite: Path) -> None:
    results = await run_cases(suite)
    assert [(r.name, r.failures) for r in results] == [("home page", []), ("gone", [])]
    assert [r.line for r in results] == [8, 16]


async def test_each_expectation_can_fail(suite: Path) -> None:
    suite.write_text(CASES.replace("status: 200\n", "status: 201\n").replace("x-absent: null", "x-cache: null")
                     .replace('"home"]', '"nope"]').replace("cache: Miss", "cache: Hit")
                     .replace("triggers: []", "triggers: [viewer-request]").replace("expect: {status: 404, body: gone", "expect: {status: 404, body: here"))
    home, gone = await run_cases(suite)
    assert home.failures == [
        "status: expected 201, got 200",
        "header x-cache: expected absent, got 'Miss from cloudfront'",
        "body: expected to contain 'nope'; body starts '<h1>home</h1>'",
        "cache: expected 'Hit', got 'Miss'",
        "triggers: expected ['viewer-request'], ran []",
    ]
    assert gone.failures == ["body: expected 'here', got 'gone'"]
    assert "GET / -> behavior '*' -> 200" in home.trace


async def test_a_wrong_header_names_the_function_that_set_it(tmp_path: Path) -> None:
    (tmp_path / "tag.js").write_text("function handler(event) {\n"
                                     "    event.response.headers['x-tag'] = { value: 'api' };\n"
                                     "    return event.response;\n}\n")
    (tmp_path / "dist.toml").write_text(CONFIG + 'functions.viewer-response = { cloudfront_function = "tag.js" }\n')
    path = tmp_path / "cases.yaml"
    path.write_text("""
config: dist.toml
origins: {api: {/: {status: 200, headers: {x-origin: "yes"}, body: ok}}}
cases:
  - name: tagged
    request: {path: /}
    expect: {headers: {x-tag: web, x-origin: null}}
""")
    (result,) = await run_cases(path)
    assert result.failures == [
        "header x-tag: expected 'web', got 'api'; viewer-response (tag) set it to 'api'",
        "header x-origin: expected absent, got 'yes'; no function set, changed or removed it",
    ]


def test_cli_summary_exit_status_and_junit(suite: Path, tmp_path: Path) -> None:
    junit = tmp_path / "out" / "junit.xml"
    junit.parent.mkdir()
    ok = CliRunner().invoke(main, ["test", str(suite), "--junit-xml", str(junit)])
    assert ok.exit_code == 0, ok.output
    assert ok.output.splitlines() == ["PASS  home page", "PASS  gone", "2 passed, 0 failed"]
    suite.write_text(CASES.replace("expect: {status: 404", "expect: {status: 200"))
    bad = CliRunner().invoke(main, ["test", str(suite), "--junit-xml", str(junit)])
    assert bad.exit_code == 1
    assert f"FAIL  gone  ({suite}:16)" in bad.output and "- status: expected 200, got 404" in bad.output
    assert "1 passed, 1 failed" in bad.output
    root = ET.parse(junit).getroot()
    assert (root.tag, root.get("tests"), root.get("failures")) == ("testsuite", "2", "1")
    cases = root.findall("testcase")
    assert [c.get("name") for c in cases] == ["home page", "gone"]
    assert cases[0].find("failure") is None
    failure = cases[1].find("failure")
    assert failure is not None and failure.get("message") == "status: expected 200, got 404"
    assert "GET /gone -> behavior" in (failure.text or "")


def test_config_option_wins_over_the_cases_file(suite: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.toml"
    other.write_text(CONFIG.replace('"api"', '"web"'))
    result = CliRunner().invoke(main, ["test", str(suite), "--config", str(other)])
    assert result.exit_code == 2
    assert "origins ['api'] are not in the config; its origins are ['web']" in result.output


def test_a_missing_config_names_the_cases_file(suite: Path) -> None:
    suite.write_text(CASES.replace("config: dist.toml", "config: dist.tom"))
    result = CliRunner().invoke(main, ["test", str(suite)])
    assert result.exit_code == 2
    assert result.output == (f"error: {suite}: config: no such file: {suite.parent.resolve() / 'dist.tom'} "
                             "(config is relative to the cases file's folder)\n")


def test_bad_cases_name_the_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("cases:\n  - name: ok\n  - name: typo\n    expect: {staus: 200}\n")
    with pytest.raises(ConfigError) as err:
        load_cases(path)
    assert err.value.problems == [f"{path}: line 3: cases.1.expect.staus: unknown key; did you mean 'status'?"]
    path.write_text("cases:\n  - name: ok\n    expect: {zzz: 200}\n")
    with pytest.raises(ConfigError) as err:
        load_cases(path)
    assert err.value.problems == [f"{path}: line 2: cases.0.expect.zzz: unknown key"]  # nothing close: no guess
    path.write_text("cases: [\n")
    result = CliRunner().invoke(main, ["test", str(path)])
    assert result.exit_code == 2 and "not valid YAML" in result.output
    path.write_text("cases:\n  - name: t\n    expect: {triggers: [viewer-requets]}\n")
    result = CliRunner().invoke(main, ["test", str(path)])
    assert result.exit_code == 2 and "line 2: cases.0.expect.triggers.0" in result.output


@pytest.mark.parametrize(("text", "expected"), [
    ("- name: home\n  request: {path: /}\n",
     "the file is a list; a cases file is a mapping with `cases:`, a list of cases (`config:` optional): "
     "indent the list under `cases:`"),
    ("", "the file is empty; a cases file is a mapping with `cases:`, a list of cases (`config:` optional): "
         "write `cases:` and the cases under it"),
    ("cases:\n  - name: home\n    request: {url: /}\n", "line 2: cases.0.request.url: unknown key; did you mean 'path'?"),
])
def test_a_cases_file_of_the_wrong_shape_or_words_is_told_what_to_write(tmp_path: Path, text: str,
                                                                         expected: str) -> None:
    path = tmp_path / "cases.yaml"
    path.write_text(text)
    result = CliRunner().invoke(main, ["test", str(path)])
    assert result.exit_code == 2
    assert result.output.splitlines() == [f"error: {path}: {expected}"]


async def test_the_sample_cases_pass_against_the_default_distribution() -> None:
    samples = Path(__file__).resolve().parent.parent / "samples" / "cases.yaml"
    results = await run_cases(samples)
    assert len(results) == 5 and all(r.passed for r in results), [r.failures for r in results]


async def test_values_outside_ascii_travel_as_utf8(tmp_path: Path) -> None:
    (tmp_path / "dist.toml").write_text(CONFIG)
    path = tmp_path / "cases.yaml"
    path.write_text("""
config: dist.toml
origins:
  api:
    /: {status: 200, headers: {x-origin: über}, body: ok}
cases:
  - name: text outside ASCII, both ways
    request: {path: /, headers: {x-name: 日本語}}
    expect: {status: 200, headers: {x-origin: über}}
""", encoding="utf-8")
    (result,) = await run_cases(path)
    assert result.failures == []



def test_the_config_given_as_the_cases_file_names_the_command_meant(tmp_path: Path) -> None:
    path = tmp_path / "edgesim.toml"
    path.write_text(CONFIG)
    result = CliRunner().invoke(main, ["test", str(path)])
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        f"error: {path}: this is a config, not a cases file: run `edgesim test CASES.yaml --config {path}`"]
