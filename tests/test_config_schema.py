"""`edgesim schema`: the config's JSON Schema for editors (config_schema.py). It must accept every
config edgesim accepts (else an editor flags a good file) and flag what edgesim refuses."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from edgesim.cli import main
from edgesim.config import parse_config
from edgesim.config_schema import config_schema

REPO = Path(__file__).resolve().parent.parent


def problems(data: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft202012Validator(config_schema())
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]


def readme_configs() -> list[str]:
    return re.findall(r"```toml[^\n]*\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), re.S)


def test_the_schema_is_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(config_schema())


@pytest.mark.parametrize("text", [*readme_configs(), *(p.read_text(encoding="utf-8")
                                                         for p in sorted((REPO / "samples").rglob("edgesim.toml")))])
def test_every_config_in_the_readme_and_samples_passes(text: str) -> None:
    assert problems(tomllib.loads(text)) == []


MINIMAL: dict[str, Any] = {"origins": [{"id": "app", "url": "http://127.0.0.1:3000"}],
                           "default_cache_behavior": {"target_origin": "app"}}


@pytest.mark.parametrize("policy", ["CachingDisabled", "Managed-CachingDisabled", "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
                                    {"min_ttl": 0, "default_ttl": 60, "max_ttl": 300}])
def test_a_managed_policy_by_name_or_id_or_an_inline_one_passes(policy: Any) -> None:
    data = {**MINIMAL, "default_cache_behavior": {"target_origin": "app", "cache_policy": policy}}
    parse_config(data, base_dir=REPO)  # edgesim takes it ...
    assert problems(data) == []  # ... and so does the schema


@pytest.mark.parametrize(("data", "where"), [
    ({**MINIMAL, "default_cache_behavior": {"target_origin": "app", "cache_polcy": "CachingDisabled"}},
     "cache_polcy"),
    ({**MINIMAL, "distribution": {"pop": "SFO53-P7", "colour": "blue"}}, "colour"),
    ({**MINIMAL, "default_cache_behavior": {"target_origin": "app", "cache_policy": "CachingSometimes"}},
     "CachingSometimes"),
    ({**MINIMAL, "default_cache_behavior": {"target_origin": "app", "viewer_protocol_policy": "https"}}, "https"),
    ({"default_cache_behavior": {"target_origin": "app"}}, "origins"),
    ({**MINIMAL, "geo_restriction": {"restriction_type": "whitelist", "locations": ["USA"]}}, "USA"),
    ({**MINIMAL, "viewer": {"country": "France"}}, "France"),
])
def test_what_edgesim_refuses_is_flagged(data: dict[str, Any], where: str) -> None:
    found = problems(data)
    assert found and any(where in p for p in found), found


def test_the_command_writes_the_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the #:schema line is the path from ./edgesim.toml
    out = tmp_path / "edgesim.schema.json"
    result = CliRunner().invoke(main, ["schema", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["title"].startswith("edgesim distribution config")
    assert "#:schema ./edgesim.schema.json" in result.output
    printed = CliRunner().invoke(main, ["schema"])
    assert json.loads(printed.output) == json.loads(out.read_text())


def test_the_command_never_overwrites_a_file_that_is_not_a_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `edgesim schema -o edgesim.toml` (the config for its schema) once replaced the user's config.
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "edgesim.toml"
    config.write_text('[[origins]]\nid = "app"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["schema", "-o", "edgesim.toml"])
    assert result.exit_code == 1
    assert "edgesim.toml exists and is not a schema edgesim wrote" in result.output
    assert config.read_text(encoding="utf-8") == '[[origins]]\nid = "app"\n'
    # An earlier schema is replaced, and --force replaces anything.
    assert CliRunner().invoke(main, ["schema", "-o", "edgesim.schema.json"]).exit_code == 0
    assert CliRunner().invoke(main, ["schema", "-o", "edgesim.schema.json"]).exit_code == 0
    assert CliRunner().invoke(main, ["schema", "-o", "edgesim.toml", "--force"]).exit_code == 0
    assert json.loads(config.read_text(encoding="utf-8"))["title"].startswith("edgesim distribution config")


def test_the_command_says_what_went_wrong_and_where_the_line_points(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    missing = CliRunner().invoke(main, ["schema", "-o", str(tmp_path / "no-such-folder" / "s.json")])
    assert missing.exit_code == 1 and "cannot write" in missing.output  # was a FileNotFoundError traceback
    elsewhere = CliRunner().invoke(main, ["schema", "-o", "../shared.schema.json"])
    assert elsewhere.exit_code == 0, elsewhere.output
    assert "#:schema ../shared.schema.json" in elsewhere.output  # was ./shared.schema.json


def test_check_says_when_the_schema_the_config_names_is_missing_or_from_another_edgesim(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A project `edgesim init` made before today's keys has a schema that flags them
    (request_collapsing, geo_restriction...) in the editor: check says so and how to renew it."""
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(main, ["init", "."]).exit_code == 0
    schema_file = tmp_path / "edgesim.schema.json"

    def warnings() -> list[str]:
        result = CliRunner().invoke(main, ["check"])
        assert result.exit_code == 0, result.output
        return [line for line in result.output.splitlines() if "schema" in line]

    assert warnings() == []  # as init wrote it
    older = json.loads(schema_file.read_text(encoding="utf-8"))
    del older["$defs"]["DistributionSettings"]["properties"]["request_collapsing"]
    schema_file.write_text(json.dumps(older), encoding="utf-8")
    assert len(found := warnings()) == 1 and "not this edgesim's" in found[0]
    assert f"edgesim schema -o {schema_file}" in found[0]
    schema_file.unlink()
    assert len(found := warnings()) == 1 and "names the schema ./edgesim.schema.json, which does not exist" in found[0]


def test_editors_get_the_readmes_words_on_hover() -> None:
    from edgesim.config_schema import DESCRIPTIONS

    schema = config_schema()
    for (model, field), text in DESCRIPTIONS.items():
        table = schema if model == "DistributionConfig" else schema["$defs"][model]
        assert table["properties"][field]["description"] == text
    assert "origin fetch" in schema["$defs"]["DistributionSettings"]["properties"]["request_collapsing"]["description"]
