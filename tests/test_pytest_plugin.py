"""The pytest plugin, run on scratch projects with pytester: fixtures, config discovery, failures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import edgesim
from conftest import API_CONFIG as CONFIG

INI = "[pytest]\nfilterwarnings = error\naddopts = -p no:cacheprovider -p no:benchmark\nasyncio_default_fixture_loop_scope = function\n"

# The scratch config's origin, stubbed: an unstubbed one would be reached over the internet (a warning,
# an error under `filterwarnings = error`).
STUB_API = """
    import pytest

    @pytest.fixture
    def edgesim_origins():
        return {"api": {"/": "hello"}}
"""


def failure_report(result: pytest.RunResult) -> str:
    """The run's output up to its short test summary, whose lines are as long as the terminal is wide
    (CI's is wider than 80 columns and repeats whole messages there): counts are taken in the report."""
    out = result.stdout.str()
    end = out.find("short test summary info")
    return out if end < 0 else out[:end]


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    # The scratch run's lines are cut to the terminal's width; pin it, so CI's wider or narrower
    # terminal reads the same report as a developer's.
    monkeypatch.setenv("COLUMNS", "80")
    pytester.makefile(".toml", edgesim=CONFIG)
    pytester.makeini(INI)
    return pytester


def test_passing_and_failing_tests_show_the_trace(project: pytest.Pytester) -> None:
    project.makepyfile(test_scratch_site="""
        import pytest
        from edgesim.assertions import assert_cache, assert_not_ran

        @pytest.fixture
        def edgesim_origins():
            return {"api": {"/": "hello", "/gone": (404, "gone")}}

        def test_home(edge_client, edge_origins):
            response = edge_client.get("/")
            assert response.text == "hello"
            assert edge_origins["api"].paths == ["/"]
            assert_not_ran(response, "viewer-request")

        def test_plain_assert_fails(edge_client):
            assert edge_client.get("/gone").status_code == 200

        def test_helper_fails(edge_client):
            assert_cache(edge_client.get("/"), "Hit")
    """)
    result = project.runpytest()
    result.assert_outcomes(passed=1, failed=2)
    # A plain assert gets the requests' traces as a report section.
    result.stdout.fnmatch_lines([
        "*- edgesim traces -*",
        "GET /gone -> behavior '*' -> 404 (Error from cloudfront)",
        "  origin api: GET /gone -> 404",
    ])
    # A domain assertion says what was expected and shows the trace in its own message.
    result.stdout.fnmatch_lines([
        "E       AssertionError: expected X-Cache 'Hit', got 'Miss' ('Miss from cloudfront'); the first request "
        "for a cache key is always a Miss*",
        "E       edgesim trace:",
        "E       GET / -> behavior '*' -> 200 (Miss from cloudfront)",
    ])


def test_the_trace_reaches_junit_xml_and_the_terminal_once(project: pytest.Pytester) -> None:
    """A CI job's test report (GitHub's, GitLab's) reads --junitxml's <failure>, not the terminal: a
    plain assert's traces must be there, or the report shows `assert 404 == 200` and nothing of why."""
    project.makepyfile(test_scratch_junit="""
        import pytest

        @pytest.fixture
        def edgesim_origins():
            return {"api": {"/gone": (404, "gone")}}

        def test_plain_assert_fails(edge_client):
            assert edge_client.get("/gone").status_code == 200
    """)
    result = project.runpytest("--junitxml=report.xml")
    result.assert_outcomes(failed=1)
    import xml.etree.ElementTree as ET

    (failure,) = ET.parse(project.path / "report.xml").iter("failure")
    assert "GET /gone -> behavior '*' -> 404 (Error from cloudfront)" in (failure.text or "")
    assert "origin api: GET /gone -> 404" in (failure.text or "")
    result.stdout.fnmatch_lines(["*- edgesim traces -*", "GET /gone -> behavior '*' -> 404 (Error from cloudfront)"])
    assert result.stdout.str().count("GET /gone -> behavior") == 1


def test_a_trace_in_the_failure_message_is_not_printed_again(project: pytest.Pytester) -> None:
    project.makepyfile(test_scratch_once="""
        import pytest
        from edgesim.assertions import assert_cache

        @pytest.fixture
        def edgesim_origins():
            return {"api": {"/": "hello", "/other": "other"}}

        def test_one_request(edge_client):
            assert_cache(edge_client.get("/"), "Hit")

        def test_two_requests(edge_client):
            edge_client.get("/other")
            assert_cache(edge_client.get("/"), "Hit")
    """)
    result = project.runpytest()
    result.assert_outcomes(failed=2)
    out = failure_report(result)
    # test_one_request: its only request is in the assertion's message, and there only.
    one = out[out.index("_ test_one_request _"):out.index("_ test_two_requests _")]
    assert one.count("GET / -> behavior") == 1 and "edgesim traces" not in one
    # test_two_requests: the section keeps the other request and counts the one shown above.
    two = out[out.index("_ test_two_requests _"):]
    assert two.count("GET / -> behavior") == 1 and two.count("GET /other -> behavior") == 1
    result.stdout.fnmatch_lines(["*- edgesim traces -*", "GET /other -> behavior '*' -> 200*",
                                 "*(1 more request(s) in the failure message above)"])


def test_a_request_no_canned_route_answers_is_named(project: pytest.Pytester) -> None:
    project.makepyfile(test_scratch_routes="""
        import pytest
        from edgesim.assertions import assert_cache

        @pytest.fixture
        def edgesim_origins():
            return {"api": {"/users": "[1]"}}

        def test_plain(edge_client):
            assert edge_client.get("/orders?page=2").status_code == 200

        def test_helper(edge_client):
            assert_cache(edge_client.get("/orders"), "Hit")

        def test_each_test_its_own(edge_client, edge_origins):
            assert edge_client.get("/users").status_code == 200
            assert edge_origins["api"].unrouted == []
            assert False
    """)
    result = project.runpytest()
    result.assert_outcomes(failed=3)
    # The origin got no query string (the default cache policy forwards none): the line says what it got.
    result.stdout.fnmatch_lines(["*- edgesim traces -*",
                                 "origin stub 'api' has no route for /orders; routes: ['/users']",
                                 "GET /orders?page=2 -> behavior '*' -> 404*"])
    # Its request is in the assertion's message; the missing route still gets said.
    result.stdout.fnmatch_lines(["*_ test_helper _*", "*- edgesim traces -*",
                                 "origin stub 'api' has no route for /orders; routes: ['/users']",
                                 "(1 more request(s) in the failure message above)"])
    assert failure_report(result).count("has no route for") == 2


def test_a_misused_control_fails_at_the_test_line(project: pytest.Pytester) -> None:
    project.makepyfile(test_scratch_misuse="""
        from edgesim.testing import viewer_headers

        def test_viewer_field(edge):
            edge.client(viewer={"contry": "FR"})

        def test_device(edge_client):
            edge_client.get("/", headers=viewer_headers(device="iphone"))

        def test_store(edge):
            edge.store("redirects")

        def test_no_request_yet(edge):
            edge.last_trace
    """)
    result = project.runpytest()
    result.assert_outcomes(failed=4)
    result.stdout.fnmatch_lines([
        ">       edge.client(viewer={\"contry\": \"FR\"})",
        # (fnmatch: [...] is a character class and ? any character, hence the stars)
        "E       ValueError: unknown viewer field(s) *'contry'*; did you mean 'country' for 'contry'*; known: *",
        "test_scratch_misuse.py:4: ValueError"])
    result.stdout.fnmatch_lines(["E       ValueError: unknown device 'iphone'; known: *",
                                 "test_scratch_misuse.py:7: ValueError"])
    result.stdout.fnmatch_lines(["E       KeyError: \"no KeyValueStore 'redirects'; this distribution has none\"",
                                 "test_scratch_misuse.py:10: KeyError"])
    result.stdout.fnmatch_lines(["E       AssertionError: no request has reached the distribution yet",
                                 "test_scratch_misuse.py:13: AssertionError"])
    # Not edgesim's frames, with their locals (ViewerProfile's pydantic fields) spelled out.
    result.stdout.no_fnmatch_line("*edgesim/testing.py*")
    result.stdout.no_fnmatch_line("*edgesim/testing_sync.py*")
    result.stdout.no_fnmatch_line("*FieldInfo*")


def test_a_misspelt_trigger_points_at_the_test_line(project: pytest.Pytester) -> None:
    project.makeconftest(STUB_API)
    project.makepyfile(test_scratch_trigger="""
        from edgesim.assertions import assert_ran, assert_triggers

        def test_underscore(edge_client):
            assert_ran(edge_client.get("/"), "viewer_request")

        def test_in_a_list(edge_client):
            assert_triggers(edge_client.get("/"), ["Origin-Response"])
    """)
    result = project.runpytest()
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([
        ">       assert_ran(edge_client.get(\"/\"), \"viewer_request\")",
        "E       ValueError: 'viewer_request' is not a trigger point; use one of ['viewer-request', "
        "'origin-request', 'origin-response', 'viewer-response']; did you mean 'viewer-request'?",
        "test_scratch_trigger.py:4: ValueError",
    ])
    result.stdout.fnmatch_lines(["E       ValueError: 'Origin-Response' is not a trigger point;*"
                                 "did you mean 'origin-response'?"])
    result.stdout.no_fnmatch_line("*edgesim/assertions.py*")


def test_a_missing_function_file_in_a_direct_test_points_at_the_test_line(project: pytest.Pytester) -> None:
    project.makepyfile(test_scratch_direct="""
        EVENT = {"version": "1.0", "context": {"eventType": "viewer-request"},
                 "request": {"method": "GET", "uri": "/", "querystring": {}, "headers": {}, "cookies": {}}}

        def test_cloudfront_function(edge_functions):
            edge_functions.cloudfront_function("functions/missing.js", EVENT)

        def test_lambda(edge_functions):
            edge_functions.lambda_handler("functions/missing.py:handler", {"Records": []})
    """)
    result = project.runpytest()
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([
        ">       edge_functions.cloudfront_function(\"functions/missing.js\", EVENT)",
        "E       edgesim.errors.FunctionCodeError: */functions/missing.js: cannot read function: No such file*",
        "test_scratch_direct.py:5: FunctionCodeError",
    ])
    result.stdout.fnmatch_lines([
        ">       edge_functions.lambda_handler(\"functions/missing.py:handler\", {\"Records\": []})",
        "E       edgesim.errors.FunctionCodeError: functions/missing.py:handler: handler file not found: *",
        "test_scratch_direct.py:8: FunctionCodeError",
    ])
    # Not a traceback through the session's event loop thread and edgesim's loaders.
    for internal in ("*testing_sync.py*", "*concurrent/futures*", "*cloudfront_functions/runtime.py*",
                     "*lambda_edge/invoke.py*"):
        result.stdout.no_fnmatch_line(internal)


def test_each_test_gets_fresh_stubs_and_traces(project: pytest.Pytester) -> None:
    project.makepyfile(test_scratch_fresh="""
        import pytest

        @pytest.mark.edgesim(origins={"api": {"/": "x"}})
        @pytest.mark.parametrize("n", range(3))
        def test_fresh(edge, edge_client, n):
            assert edge.traces == [] and edge.origins["api"].count == 0
            edge_client.get("/")
            assert len(edge.traces) == 1 and edge.origins["api"].count == 1
    """)
    project.runpytest().assert_outcomes(passed=3)


def test_marker_config_dict_and_path(project: pytest.Pytester) -> None:
    sub = project.mkdir("other")
    (sub / "dist.toml").write_text(CONFIG.replace('"api"', '"web"'))
    project.makepyfile(test_scratch_marker="""
        import pytest

        CONFIG = {"origins": [{"id": "inline", "url": "http://inline.example"}],
                  "default_cache_behavior": {"target_origin": "inline"}}

        @pytest.mark.edgesim(config=CONFIG, origins={"inline": lambda request: "inline " + request.uri})
        def test_dict(edge_client):
            assert edge_client.get("/a").text == "inline /a"

        @pytest.mark.edgesim(config="other/dist.toml", origins={"web": {"/": "web"}})
        def test_path(edge, edge_client):
            assert edge_client.get("/").text == "web"
            assert edge.config.origins[0].id == "web"
    """)
    project.runpytest().assert_outcomes(passed=2)


def test_ini_option_names_the_config(pytester: pytest.Pytester) -> None:
    pytester.mkdir("conf")
    (pytester.path / "conf" / "site.toml").write_text(CONFIG)
    pytester.makeini(INI + "edgesim_config = conf/site.toml\n")
    pytester.makepyfile(test_scratch_ini="""
        def test_ini(edge):
            assert edge.config.source.name == "site.toml"
    """)
    pytester.runpytest().assert_outcomes(passed=1)


def test_missing_config_says_where_it_looked(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_scratch_nothing="""
        def test_needs_config(edge):
            pass
    """)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*edgesim: no edgesim.toml next to *test_scratch_nothing.py*@pytest.mark.edgesim(config=*"])


def test_config_errors_name_the_file_and_field(project: pytest.Pytester) -> None:
    (project.path / "edgesim.toml").write_text(CONFIG + "bogus = 1\n")  # lands in default_cache_behavior
    project.makepyfile(test_scratch_bad="def test_x(edge):\n    pass\n")
    result = project.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"edgesim config: *edgesim.toml:{len(CONFIG.splitlines()) + 1}: default_cache_behavior.bogus: unknown key*",
                                 # the short summary names the problem too
                                 "ERROR test_scratch_bad.py::test_x - Failed: edgesim config: /*"])
    result.stdout.no_fnmatch_line("*Traceback*")
    # Said once: not the ConfigError, "During handling of the above exception", then the same again.
    result.stdout.no_fnmatch_line("*During handling of the above exception*")
    assert failure_report(result).count("bogus: unknown key (check") == 1


def test_a_bad_config_dict_fails_in_one_line_naming_the_marker(project: pytest.Pytester) -> None:
    project.makepyfile(test_scratch_dict="""
        import pytest

        @pytest.mark.edgesim(config={"origins": [{"id": "app", "url": "http://x"}],
                                     "default_cache_behavior": {"target_origin": "app", "cache_polcy": "CachingDisabled"}})
        def test_marker(edge_client):
            pass
    """)
    result = project.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        "edgesim config: @pytest.mark.edgesim(config={...}) of test_scratch_dict.py::test_marker: "
        "default_cache_behavior.cache_polcy: unknown key*",
        "ERROR test_scratch_dict.py::test_marker - Failed: edgesim config: @pytest.*"])
    # One line about the user's dict, not a traceback through the plugin, testing.py and pydantic.
    result.stdout.no_fnmatch_line("*Traceback*")
    result.stdout.no_fnmatch_line("*testing.py*")
    result.stdout.no_fnmatch_line("*<config>*")
    assert failure_report(result).count("cache_polcy: unknown key") == 1


def test_a_marker_argument_it_does_not_take_fails_naming_the_keyword(project: pytest.Pytester) -> None:
    """pytest hands a marker whatever it was given: a positional config path or a misspelt keyword was
    ignored, and the test ran on another config or without its stubs."""
    project.makepyfile(test_scratch_marker="""
        import pytest

        @pytest.mark.edgesim("other.toml")
        def test_positional(edge_client):
            pass

        @pytest.mark.edgesim(orgins={"app": None})
        def test_misspelt(edge_client):
            pass
    """)
    result = project.runpytest()
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines([
        "edgesim: @pytest.mark.edgesim('other.toml') of test_scratch_marker.py::test_positional: the marker "
        "takes keywords only; write @pytest.mark.edgesim(config='other.toml')",
        "edgesim: @pytest.mark.edgesim(orgins=...) of test_scratch_marker.py::test_misspelt: not a keyword it "
        "takes; did you mean origins=? (it takes config, origins, socket)"])
    result.stdout.no_fnmatch_line("*Traceback*")


def test_a_bad_config_dict_from_the_fixture_names_the_fixture(project: pytest.Pytester) -> None:
    project.makepyfile(test_scratch_fixture="""
        import pytest

        @pytest.fixture
        def edgesim_config():
            return {"origins": [{"id": "app", "url": "http://x"}], "default_cache_behavior": {"target_origin": "nope"}}

        def test_fixture(edge_client):
            pass
    """)
    result = project.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        "edgesim config: the edgesim_config fixture of test_scratch_fixture.py::test_fixture: "
        "default_cache_behavior.target_origin: unknown origin id 'nope'*"])
    result.stdout.no_fnmatch_line("*Traceback*")


def test_a_string_stub_that_is_not_a_url_is_told_as_a_stub_mistake(project: pytest.Pytester) -> None:
    """A string stub is a real origin's URL; `"hello"`, meant as the answer, was pydantic's
    ValidationError for CustomOrigin raised from inside testing.py."""
    project.makepyfile(test_scratch_body="""
        import pytest

        @pytest.mark.edgesim(origins={"api": "hello"})
        def test_body(edge_client):
            pass
    """)
    result = project.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        "edgesim: origin 'api': 'hello' is not a URL; a string stub is the URL of a real origin (http://...); "
        "for a canned answer give routes by path, e.g. {'/': 'hello'} "
        "(this test's origin stubs come from @pytest.mark.edgesim(origins=...))"])
    result.stdout.no_fnmatch_line("*ValidationError*")
    result.stdout.no_fnmatch_line("*testing.py*")


def test_an_origin_stub_for_an_unknown_origin_says_where_it_came_from(project: pytest.Pytester) -> None:
    project.makepyfile(test_scratch_typo="""
        import pytest

        @pytest.mark.edgesim(origins={"apii": {"/": "x"}})
        def test_typo(edge_client):
            pass
    """)
    result = project.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        "edgesim: origins ['apii'] are not in the config; its origins are ['api']; did you mean 'api'? "
        "(this test's origin stubs come from @pytest.mark.edgesim(origins=...))"])
    # One line about the user's marker, not a traceback through edgesim's event loop.
    result.stdout.no_fnmatch_line("*testing_sync.py*")
    result.stdout.no_fnmatch_line("*ConfigError*")


def test_async_tests_use_the_async_client(project: pytest.Pytester) -> None:
    project.makeini(INI + "asyncio_mode = auto\n")
    project.makeconftest(STUB_API)
    project.makepyfile(test_scratch_async="""
        from edgesim.testing import trace_of

        async def test_async(edge):
            async with edge.async_client() as client:
                response = await client.get("/")
            assert trace_of(response).origin_requests[0].origin_id == "api"
    """)
    project.runpytest().assert_outcomes(passed=1)


def _subprocess_env(pytester: pytest.Pytester) -> None:
    # The child must import this checkout's edgesim (the plugin comes through the entry point).
    root = str(Path(edgesim.__file__).resolve().parent.parent)
    pytester._monkeypatch.setenv("PYTHONPATH", os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))


def test_xdist_workers_and_real_sockets(project: pytest.Pytester) -> None:
    _subprocess_env(project)
    project.makepyfile(test_scratch_many="""
        import pytest

        @pytest.fixture
        def edgesim_origins():
            return {"api": lambda request: "uri=" + request.uri}

        @pytest.mark.parametrize("n", range(8))
        def test_many(edge, edge_client, n):
            response = edge_client.get(f"/{n}")
            assert response.text == f"uri=/{n}"
            assert edge.distribution.url.startswith("http://127.0.0.1:")
    """)
    result = project.runpytest_subprocess("-n", "2", "--edgesim-socket")
    result.assert_outcomes(passed=8)


def test_kvs_edits_apply_at_once_and_never_outlive_the_test(project: pytest.Pytester) -> None:
    
    functions = Path(edgesim.__file__).resolve().parent.parent / "functions" / "cff"
    (project.path / "edgesim.toml").write_text(CONFIG + (
        f'functions.viewer-request = {{ cloudfront_function = "{functions / "kvs-redirects.js"}", '
        f'kvs = "{functions / "kvs-redirects.json"}" }}\n'))
    project.makepyfile(test_scratch_kvs="""
        import pytest

        @pytest.fixture
        def edgesim_origins():
            return {"api": {"/new": "new", "/later": "later"}}

        def test_edit(edge, edge_client):
            assert edge_client.get("/later").status_code == 200
            edge.store()["/later"] = "/new"
            response = edge_client.get("/later")
            assert response.status_code == 301 and response.headers["location"] == "/new"

        def test_next_test_sees_the_original_store(edge, edge_client):
            assert "/later" not in edge.store()
            assert edge_client.get("/later").status_code == 200
            assert edge_client.get("/old").headers["location"] == "/new"
    """)
    project.runpytest("-p", "no:randomly").assert_outcomes(passed=2)
    assert "/later" not in (functions / "kvs-redirects.json").read_text()


def test_a_runaway_cloudfront_function_is_still_stopped(project: pytest.Pytester) -> None:
    (project.path / "loop.js").write_text("function handler(event) { for (;;) {} }\n")
    (project.path / "edgesim.toml").write_text(CONFIG + 'functions.viewer-request = { cloudfront_function = "loop.js" }\n')
    project.makepyfile(test_scratch_loop="""
        from edgesim.assertions import trigger_record

        def test_loop(edge_client):
            response = edge_client.get("/")
            assert response.status_code == 503
            assert "ran longer than 200 ms" in trigger_record(response, "viewer-request").error
    """)
    project.makeini(INI + "edgesim_function_time_limit_ms = 200\n")
    project.runpytest().assert_outcomes(passed=1)


def test_a_function_that_cannot_load_is_named_in_the_failure(project: pytest.Pytester) -> None:
    (project.path / "broken.js").write_text("function handler(event) { return event.request; \n")
    (project.path / "edgesim.toml").write_text(CONFIG + 'functions.viewer-request = { cloudfront_function = "broken.js" }\n')
    project.makepyfile(test_scratch_broken="""
        def test_home(edge_client):
            assert edge_client.get("/").status_code == 200
    """)
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*- edgesim traces -*", "function failed to load*broken.js*",
                                 "GET / -> behavior '*' -> 503*"])


def test_the_config_is_found_in_a_parent_folder(project: pytest.Pytester) -> None:
    nested = project.mkdir("tests") / "edge"
    nested.mkdir()
    (nested / "test_scratch_nested.py").write_text(
        "from pathlib import Path\n\n"
        "def test_nested(edge):\n"
        f"    assert edge.config.source.resolve() == Path({str(project.path / 'edgesim.toml')!r}).resolve()\n")
    project.runpytest().assert_outcomes(passed=1)
