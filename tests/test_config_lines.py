"""A config problem in an edgesim.toml is placed FILE:LINE: at the line of the field it names, in
each shape TOML writes a field in, and with no line (never a wrong one) where the field has no line
of its own. Dict configs and imported configs keep their messages as they were."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from edgesim.cli import main
from edgesim.config import load_config, parse_config
from edgesim.errors import ConfigError
from edgesim.reload import wait_for_valid_config

ORIGIN = '[[origins]]\nid = "app"\nurl = "http://127.0.0.1:8900"\n'


def problems_of(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "edgesim.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return info.value.problems


def line_holding(text: str, needle: str) -> int:
    """The line number of the one line of `text` holding `needle`."""
    found = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(found) == 1, (needle, found)
    return found[0]


def placed(tmp_path: Path, text: str) -> list[tuple[int | None, str]]:
    """Each problem as (its line, or None; what follows FILE[:LINE]: )."""
    file = re.escape(str(tmp_path / "edgesim.toml"))
    out: list[tuple[int | None, str]] = []
    for problem in problems_of(tmp_path, text):
        head = re.match(rf"{file}(?::(\d+))?: ", problem)
        assert head is not None, problem
        out.append((int(head[1]) if head[1] else None, problem[head.end():]))
    return out


def test_a_key_in_a_table_is_placed_at_its_line(tmp_path: Path) -> None:
    text = ('# a comment\n[distribution]\nid = "E1"\n\n' + ORIGIN + "\n[default_cache_behavior]\n"
            'target_origin = "app"\ntarget_orign = "app"\n')
    assert placed(tmp_path, text) == [(line_holding(text, "target_orign"),
                                       "default_cache_behavior.target_orign: unknown key; did you mean 'target_origin'?")]


def test_the_nth_array_of_tables_item_is_the_nth_header(tmp_path: Path) -> None:
    # cache_behaviors[2] is the third [[cache_behaviors]], with a [cache_behaviors.cache_policy] under
    # the second taken as the second's (TOML's rule for a table under an array of tables).
    text = (ORIGIN + '[default_cache_behavior]\ntarget_origin = "app"\n'
            '[[cache_behaviors]]\npath_pattern = "/a/*"\ntarget_origin = "app"\n'
            '[[cache_behaviors]]\npath_pattern = "/b/*"\ntarget_origin = "app"\n'
            '[cache_behaviors.cache_policy]\nmin_ttl = 0\nquery_string = "all"\n'
            '[[cache_behaviors]]\npath_pattern = "/c/*"\ntarget_origin = "app"\ncompres = true\n')
    assert placed(tmp_path, text) == [
        (line_holding(text, "query_string"), "cache_behaviors[1].cache_policy.query_string: unknown key; "
                                             "did you mean 'query_strings'?"),
        (line_holding(text, "compres"), "cache_behaviors[2].compres: unknown key; did you mean 'compress'?"),
    ]


def test_dotted_keys_and_inline_tables_are_placed_at_the_key(tmp_path: Path) -> None:
    (tmp_path / "a.js").write_text("function handler(event) { return event.request; }\n")
    text = (ORIGIN + '[default_cache_behavior]\ntarget_origin = "app"\n'
            'functions.viewer-request = { cloudfront_function = "a.js", runtim = "cloudfront-js-2.0" }\n'
            'cache_policy = { min_ttl = 0, query_string = "all" }\n'
            'default_cache_behavior.x = 1\n')
    assert placed(tmp_path, text) == [
        (line_holding(text, "query_string ="), "default_cache_behavior.cache_policy.query_string: unknown key; "
                                                "did you mean 'query_strings'?"),
        (line_holding(text, "runtim ="), "default_cache_behavior.functions.viewer-request.runtim: unknown key; "
                                         "did you mean 'runtime'?"),
        # The dotted key's first part is the unknown key: the line that writes it.
        (line_holding(text, "default_cache_behavior.x"), "default_cache_behavior.default_cache_behavior: unknown "
                                                          "key (check its spelling; edgesim refuses keys it does not know)"),
    ]


def test_quoted_keys_spaced_dots_and_crlf_lines_are_read_as_toml_reads_them(tmp_path: Path) -> None:
    (tmp_path / "a.js").write_text("function handler(event) { return event.request; }\n")
    text = (ORIGIN + '[ "default_cache_behavior" ]\ntarget_origin = "app"\n'
            'functions . "viewer-request" = { cloudfront_function = "a.js", "run\\u0074im" = "x" }\n')
    [(line, said)] = placed(tmp_path, text.replace("\n", "\r\n"))
    assert (line, said.split(":")[0]) == (line_holding(text, "functions"),
                                          "default_cache_behavior.functions.viewer-request.runtim")


def test_an_item_of_a_multi_line_array_is_placed_at_its_own_line(tmp_path: Path) -> None:
    text = (ORIGIN + '[default_cache_behavior]\ntarget_origin = "app"\n'
            '[geo_restriction]\nrestriction_type = "whitelist"\nlocations = [\n  "US",\n  # Canada\n  5,\n]\n')
    [(line, said)] = placed(tmp_path, text)
    assert (line, said.split(":")[0]) == (line_holding(text, "5,"), "geo_restriction.locations[1]")


def test_a_value_spanning_lines_is_placed_at_its_key_and_the_lines_after_it_stay_right(tmp_path: Path) -> None:
    text = (ORIGIN + '[default_cache_behavior]\ntarget_origin = "app"\n'
            '[[cache_behaviors]]\ntarget_origin = "app"\npath_pattern = """\n/a/*\n"""\nallowed_methods = [\n'
            '  "GET",\n  "HEAD",\n  "POST",\n]\nzzz = 1\n')
    lines = [(line, said.split(":")[0]) for line, said in placed(tmp_path, text)]
    assert lines == [(line_holding(text, "path_pattern"), "cache_behaviors[0].path_pattern"),
                     (line_holding(text, "allowed_methods"), "cache_behaviors[0].allowed_methods"),
                     (line_holding(text, "zzz"), "cache_behaviors[0].zzz")]


def test_a_missing_field_is_placed_at_its_tables_header_or_inline_tables_key(tmp_path: Path) -> None:
    text = (ORIGIN + '[[origins]]\nurl = "http://127.0.0.1:8901"\n'
            '[default_cache_behavior]\ntarget_origin = "app"\n'
            '[[cache_behaviors]]\npath_pattern = "/a/*"\n'
            '[[cache_behaviors]]\npath_pattern = "/b/*"\ntarget_origin = "app"\n'
            'functions.origin-request = { timeout = 3 }\n')
    headers = [n for n, line in enumerate(text.splitlines(), 1) if line.startswith("[[")]
    lines = [(line, said.split(":")[0]) for line, said in placed(tmp_path, text)]
    assert lines == [(headers[1], "origins[1].id"), (headers[2], "cache_behaviors[0].target_origin"),
                     (line_holding(text, "functions.origin-request"), "cache_behaviors[1].functions.origin-request")]


def test_a_deploy_problem_is_placed_at_its_field(tmp_path: Path) -> None:
    text = (ORIGIN + '[default_cache_behavior]\ntarget_origin = "app"\n'
            '[[cache_behaviors]]\npath_pattern = "/a/*"\n\ntarget_origin = "nope"\n')
    assert placed(tmp_path, text) == [(line_holding(text, '"nope"'), "cache_behaviors[0].target_origin: unknown "
                                       "origin id 'nope'; known: ['app']")]


def test_where_the_field_has_no_line_of_its_own_none_is_given(tmp_path: Path) -> None:
    # Duplicate origin ids are a problem of the whole array (no one header is it); a table made only
    # by `[default_cache_behavior.cache_policy]` has no header to hold its missing target_origin; a
    # field missing from the whole file has no table written to point at.
    text = (ORIGIN + ORIGIN + "[default_cache_behavior.cache_policy]\nmin_ttl = 0\n")
    assert placed(tmp_path, text) == [(None, "default_cache_behavior.target_origin: required field is missing")]
    text = ORIGIN + ORIGIN + '[default_cache_behavior]\ntarget_origin = "app"\n'
    assert placed(tmp_path, text) == [(None, "origins: duplicate origin id(s) ['app']")]
    assert placed(tmp_path, ORIGIN) == [(None, "default_cache_behavior: required field is missing")]


def test_a_file_the_syntax_tree_reads_otherwise_gets_no_lines(tmp_path: Path) -> None:
    # tree-sitter-toml 0.7 does not take a line-ending backslash followed by spaces in a multi-line
    # string, which TOML (and tomllib) allow: where the grammar and tomllib disagree, nothing is placed.
    text = ORIGIN + '[default_cache_behavior]\ntarget_origin = "app"\nzzz = """a \\  \n  b"""\n'
    assert placed(tmp_path, text) == [(None, "default_cache_behavior.zzz: unknown key (check its spelling; "
                                             "edgesim refuses keys it does not know)")]
    from edgesim import config_lines

    assert config_lines.config_lines("a = [1,\n", {"a": [1]}).line_of(("a",)) is None  # has_error: nothing placed
    # A field tomllib read that the tree did not place is not given its table's header line.
    assert config_lines.config_lines("[t]\nc = 1\n", {"t": {"a": {"b": 1}}}).line_of(("t", "a", "b")) is None


def test_a_dict_config_keeps_its_label_without_a_line() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"origins": [{"id": "app", "url": "http://x"}], "default_cache_behavior": {"target_origin": "app",
                     "zzz": 1}}, base_dir=Path.cwd(), label="marker")
    assert info.value.problems == ["marker: default_cache_behavior.zzz: unknown key (check its spelling; edgesim "
                                   "refuses keys it does not know)"]


def test_check_and_serves_wait_print_file_line_for_editors(tmp_path: Path) -> None:
    text = ORIGIN + '[default_cache_behavior]\ntarget_origin = "app"\ncache_polcy = "CachingDisabled"\n'
    path = tmp_path / "edgesim.toml"
    path.write_text(text)
    expected = (f"error: {path}:{line_holding(text, 'cache_polcy')}: default_cache_behavior.cache_polcy: "
                "unknown key; did you mean 'cache_policy'?")
    result = CliRunner().invoke(main, ["check", "--config", str(path)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [expected]
    # serve's wait on a broken config says the same; the report that says it waits stops the wait.
    said: list[str] = []

    def report(line: str) -> None:
        said.append(line)
        if line.startswith("waiting for"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        wait_for_valid_config(path, report)
    assert said[0] == expected


def test_the_readmes_problem_matcher_reads_file_and_line_from_check(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    written = re.search(r"a problem matcher\n  `(\{.*?\}\})`", readme, re.DOTALL)
    assert written is not None
    pattern = json.loads(" ".join(written[1].split()))["pattern"]
    text = ORIGIN + '[default_cache_behavior]\ntarget_origin = "app"\nzzz = 1\n'
    path = tmp_path / "edgesim.toml"
    path.write_text(text)
    [line] = CliRunner().invoke(main, ["check", "--config", str(path)]).output.splitlines()
    found = re.match(pattern["regexp"], line)
    assert found is not None, line
    assert (found[pattern["file"]], found[pattern["line"]], found[pattern["severity"]]) == (
        str(path), str(line_holding(text, "zzz")), "error")


def test_a_good_config_loads_without_the_locator() -> None:
    # The syntax tree is read only for a config with problems: loading a good one costs what it did.
    code = ("import sys; from edgesim.config import default_config_path, load_config; load_config(default_config_path()); "
            "print([m for m in ('edgesim.config_lines', 'tree_sitter_toml') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
