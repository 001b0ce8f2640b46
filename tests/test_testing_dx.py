"""What a test writer sees when a test goes wrong: scratch projects run with pytester, each failure
read as the user reads it (the message, the report's sections, the warnings summary)."""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest

from edgesim.assertions import (
    assert_cache,
    assert_generated_by,
    assert_header,
    assert_header_set_by,
    assert_origin_called,
    assert_origin_not_called,
)
from edgesim.testing import Distribution, trace_of
from edgesim.unstubbed_origins import is_local_host
from test_pytest_plugin import INI, failure_report

# Warnings stay warnings here, so that the summary shows them; INI (filterwarnings = error) is the
# escalation a team sets.
INI_WARN = INI.replace("filterwarnings = error\n", "filterwarnings =\n    error\n"
                       "    default::edgesim.unstubbed_origins.UnstubbedOriginWarning\n")


def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def config_with(url: str) -> str:
    return f"""
[[origins]]
id = "web"
url = "http://127.0.0.1:1"

[[origins]]
id = "api"
url = "{url}"
connect_timeout = 1
connection_attempts = 1

[default_cache_behavior]
target_origin = "web"

[[cache_behaviors]]
path_pattern = "/api/*"
target_origin = "api"
"""


def test_an_unstubbed_internet_origin_is_a_warning_naming_it(pytester: pytest.Pytester) -> None:
    # api.example.com: no address, or nothing worth reaching (RFC 2606); connect_timeout 1 s bounds it.
    pytester.makefile(".toml", edgesim=config_with("http://api.example.com"))
    pytester.makeini(INI_WARN)
    pytester.makepyfile(test_scratch_net="""
        import pytest

        @pytest.fixture
        def edgesim_origins():
            return {"web": {"/": "home"}}

        def test_forgot_the_api_stub(edge_client):
            edge_client.get("/api/users")

        def test_only_the_stubbed_origin(edge_client):
            assert edge_client.get("/").text == "home"

        @pytest.mark.edgesim(origins={"api": "http://api.example.com"})
        def test_the_api_meant_for_real(edge_client):
            edge_client.get("/api/users")
    """)
    result = pytester.runpytest()
    result.assert_outcomes(passed=3, warnings=1)
    result.stdout.fnmatch_lines([
        "*test_scratch_net.py::test_forgot_the_api_stub",
        "*test_scratch_net.py:7: UnstubbedOriginWarning: edgesim: origin 'api' is not stubbed, so this test's "
        "requests to it went over the internet to http://api.example.com; stub it with canned responses*",
    ])
    # The project's own escalation makes it a failure, at the test that did it.
    pytester.makeini(INI)
    result = pytester.runpytest()
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*_ ERROR at teardown of test_forgot_the_api_stub _*",
                                 "UnstubbedOriginWarning: edgesim: origin 'api' is not stubbed, so *",
                                 "*= short test summary info =*"])  # one line, no traceback through edgesim


def test_an_unstubbed_origin_that_does_not_answer_is_named_in_the_failure(pytester: pytest.Pytester) -> None:
    port = closed_port()
    pytester.makefile(".toml", edgesim=config_with(f"http://127.0.0.1:{port}"))
    pytester.makeini(INI)
    pytester.makepyfile(test_scratch_local="""
        import pytest

        @pytest.fixture
        def edgesim_origins():
            return {"web": {"/": "home"}}

        def test_api(edge_client):
            assert edge_client.get("/api/users").status_code == 200
    """)
    result = pytester.runpytest()
    # A local origin is no warning (a dev server may be meant); that nothing answered is said.
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*- edgesim traces -*",
        f"origin 'api' is not stubbed in this test, and nothing answered at http://127.0.0.1:{port} "
        "(1 of 1 request(s) failed): stub it with canned responses, a function or an ASGI app*",
        "GET /api/users -> behavior '/api/*' -> 502 (Error from cloudfront)",
    ])
    assert "UnstubbedOriginWarning" not in result.stdout.str()
    assert failure_report(result).count("is not stubbed") == 1


# --- assertion messages: what was there instead ------------------------------------------------

SECURITY_HEADERS = """function handler(event) {
    event.response.headers['strict-transport-security'] = { value: 'max-age=63072000' };
    event.response.headers['x-frame-options'] = { value: 'DENY' };
    return event.response;
}"""
ROBOTS = """function handler(event) {
    if (event.request.uri === '/robots.txt') {
        return { statusCode: 200, statusDescription: 'OK', body: 'User-agent: *' };
    }
    return event.request;
}"""


@pytest.fixture
def edge_site(tmp_path: Path) -> dict[str, Any]:
    (tmp_path / "security.js").write_text(SECURITY_HEADERS)
    (tmp_path / "robots.js").write_text(ROBOTS)
    functions = {"viewer-request": {"cloudfront_function": str(tmp_path / "robots.js")},
                 "viewer-response": {"cloudfront_function": str(tmp_path / "security.js")}}
    return {"origins": [{"id": "web", "url": "http://web.example.com"}, {"id": "api", "url": "http://api.example.com"}],
            "default_cache_behavior": {"target_origin": "web", "functions": functions},
            "cache_behaviors": [{"path_pattern": "/api/*", "target_origin": "api", "cache_policy": "CachingDisabled"}]}


async def responses(config: dict[str, Any], *paths: str) -> list[httpx.Response]:
    async with Distribution(config, origins={"web": {"/": "home"}, "api": {"/api/x": "x"}}) as dist, \
            dist.client() as client:
        return [await client.get(path) for path in paths]


def message(check: Any) -> str:
    with pytest.raises(AssertionError) as info:
        check()
    return str(info.value).split("\n\nedgesim trace:")[0]


async def test_a_misspelt_header_name_gets_the_close_one_with_its_value(edge_site: dict[str, Any]) -> None:
    (home,) = await responses(edge_site, "/")
    assert message(lambda: assert_header(home, "strict-transport-securty", "max-age=63072000")) == (
        "expected header strict-transport-securty: 'max-age=63072000', got absent; no function set, changed or "
        "removed it; did you mean 'strict-transport-security' (it is 'max-age=63072000')?")
    # A header that is simply not there gets no guess.
    assert message(lambda: assert_header(home, "x-powered-by", "edgesim")).endswith("removed it")


async def test_a_header_set_by_another_trigger_names_that_trigger(edge_site: dict[str, Any]) -> None:
    (home,) = await responses(edge_site, "/")
    assert message(lambda: assert_header_set_by(home, "x-frame-options", "origin-response", "DENY")) == (
        "expected origin-response to set 'x-frame-options', but origin-response did not run "
        "(ran: viewer-request, viewer-response); instead: viewer-response (security) set it to 'DENY'")


async def test_a_response_generated_elsewhere_says_where_it_came_from(edge_site: dict[str, Any]) -> None:
    robots, home = await responses(edge_site, "/robots.txt", "/")
    assert message(lambda: assert_generated_by(robots, "origin-request")) == (
        "expected origin-request to generate the response; viewer-request (robots) generated it")
    assert message(lambda: assert_generated_by(home, "viewer-request")) == (
        "expected viewer-request to generate the response; it came from the origin (web: GET / -> 200)")


async def test_hit_asserted_on_the_request_that_filled_the_cache_says_to_ask_twice(edge_site: dict[str, Any]) -> None:
    first, second = await responses(edge_site, "/", "/")
    assert_cache(second, "Hit")
    assert message(lambda: assert_cache(first, "Hit")).startswith(
        "expected X-Cache 'Hit', got 'Miss' ('Miss from cloudfront'); the first request for a cache key is always "
        "a Miss (it fetches the object and stores it): send the same request again and assert Hit on the second")
    # Expecting a Miss and getting a Hit needs no such hint.
    assert "first request" not in message(lambda: assert_cache(second, "Miss"))


async def test_origin_assertions_take_an_origin_id(edge_site: dict[str, Any]) -> None:
    home, api = await responses(edge_site, "/", "/api/x")
    assert_origin_called(api, origin="api")
    assert_origin_called(home, 1, origin="web")
    assert_origin_not_called(home, origin="api")
    assert message(lambda: assert_origin_called(home, origin="api")) == (
        "expected origin 'api' to be called at least once; it was called 0 time(s) (web: GET / -> 200)")
    assert message(lambda: assert_origin_not_called(api, origin="api")) == (
        "expected no request to origin 'api'; got 1 (api: GET /api/x -> 200)")
    # The id written where the count goes is not compared to a count.
    with pytest.raises(TypeError, match=r"times is a number of origin requests, not 'api'; to check which "
                                        r"origin, write assert_origin_called\(response, origin='api'\)"):
        assert_origin_called(api, "api")  # type: ignore[arg-type]


# --- stubs and direct runs ------------------------------------------------------------------------

async def test_an_origin_not_stubbed_is_named_when_its_records_are_asked_for(edge_site: dict[str, Any]) -> None:
    async with Distribution(edge_site, origins={"web": {"/": "home"}}) as dist:
        with pytest.raises(KeyError) as unstubbed:
            dist.origins["api"]
        with pytest.raises(KeyError) as typo:
            dist.origins["wbe"]
        assert dist.origins["web"].count == 0
    assert unstubbed.value.args[0] == (
        "origin 'api' is not stubbed in this test, so no requests are recorded for it (they go to the origin "
        "the config names); stubbed origins: ['web']")
    assert typo.value.args[0] == (
        "no origin 'wbe' in the config (its origins: ['api', 'web']); did you mean 'web'?; stubbed origins: ['web']")


def test_a_canned_value_that_is_no_response_fails_in_one_line(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", edgesim=config_with("http://api.example.com"))
    pytester.makeini(INI)
    pytester.makepyfile(test_scratch_canned="""
        import pytest

        @pytest.mark.edgesim(origins={"web": {"/": 200}})
        def test_home(edge_client):
            edge_client.get("/")
    """)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        "*_ ERROR at setup of test_home _*",
        "edgesim: origin 'web' route '/': 200 is not a response; give a body (str/bytes), (status, body), *"
        "(this test's origin stubs come from @pytest.mark.edgesim(origins=...))",
        "*= short test summary info =*",
    ])
    # Not a traceback through the plugin, pytest-asyncio and edgesim.stubs.
    result.stdout.no_fnmatch_line("*edgesim/stubs.py*")


async def test_the_result_of_a_handler_that_threw_says_why_there_is_none(tmp_path: Path) -> None:
    from edgesim.direct import invoke_lambda

    (tmp_path / "fn.py").write_text("def handler(event, context):\n    print('checking')\n"
                                    "    raise ValueError('no config for ' + event['Records'][0]['cf']['request']['uri'])\n")
    event = {"Records": [{"cf": {"config": {"eventType": "origin-request"}, "request": {
        "uri": "/a", "method": "GET", "headers": {}, "querystring": "", "clientIp": "198.51.100.7"}}}]}
    failed = await invoke_lambda("fn.py:handler", event, base_dir=tmp_path)
    assert not failed.ok and failed.error is not None and "ValueError: no config for /a" in failed.error
    with pytest.raises(AssertionError) as why:
        failed.result["uri"]
    text = str(why.value)
    assert text.startswith(f"fn.py:handler failed, so it has no result: {failed.error}\nits logs:\n")
    assert "  | checking" in text and "ValueError: no config for /a" in text.split("its logs:")[1]
    assert "fn.py:handler" in repr(failed)


def test_an_async_test_no_plugin_ran_is_told_the_marker_it_lacks(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", edgesim=config_with("http://api.example.com"))
    pytester.makeini(INI)  # pytest-asyncio in strict mode, as installed by default
    pytester.makepyfile(test_scratch_unmarked="""
        async def test_home(edge):
            async with edge.async_client() as client:
                await client.get("/")

        async def test_not_edgesim():
            pass
    """)
    result = pytester.runpytest()
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([
        "*_ test_home _*",
        "async def functions are not natively supported.",
        "*- edgesim -*",
        "this async test did not run: it needs @pytest.mark.asyncio (pytest-asyncio is installed; or "
        "asyncio_mode = auto in the pytest ini) or @pytest.mark.anyio (anyio's plugin is installed); "
        "edge.async_client() works under either",
        "*_ test_not_edgesim _*",
    ])
    # Not an empty "edgesim traces" section, and nothing said for a test that uses no edgesim fixture.
    assert "edgesim traces" not in result.stdout.str()
    assert failure_report(result).count("this async test did not run") == 1


def test_stubs_written_in_a_misnamed_fixture_are_not_silently_ignored(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", edgesim=config_with("http://api.example.com"))
    pytester.makeini(INI)
    pytester.makepyfile(test_scratch_misnamed="""
        import pytest

        @pytest.fixture
        def edge_origins():  # meant: edgesim_origins
            return {"web": {"/": "home"}}

        def test_home(edge_client):
            assert edge_client.get("/").text == "home"
    """)
    pytester.makepyfile(test_scratch_typo="""
        import pytest

        @pytest.fixture
        def edgesim_origin():
            return {"web": {"/": "home"}}

        def test_home(edge_client):
            assert edge_client.get("/").text == "home"

        @pytest.mark.edgesim(origins={"web": {"/": "home"}})
        def test_stubbed_by_the_marker(edge_client):
            assert edge_client.get("/").text == "home"
    """)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.fnmatch_lines([
        "*_ ERROR at setup of test_home _*",
        "edgesim: this test stubs no origin, and a fixture 'edge_origins' is defined for it: did you mean "
        "edgesim_origins? (edgesim_origins gives the stubs; edge_origins is what they got)",
    ])
    result.stdout.fnmatch_lines(["edgesim: this test stubs no origin, and a fixture 'edgesim_origin' is defined *"])


@pytest.mark.parametrize(("host", "local"), [
    ("localhost", True), ("127.0.0.1", True), ("::1", True), ("[::1]", True), ("10.1.2.3", True),
    ("192.168.0.4", True), ("api", True), ("web.test", True), ("app.localhost", True), ("db.internal", True),
    ("api.example.com", False), ("8.8.8.8", False), ("staging.example.net", False), ("2606:4700::1111", False),
])
def test_what_counts_as_the_internet(host: str, local: bool) -> None:
    # The README's words: this machine, a private address, a name such as `localhost`, `api` or `*.test`.
    assert is_local_host(host) is local


def test_edgesim_test_says_which_cases_reached_an_unstubbed_origin(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from edgesim.cli import main

    port = closed_port()
    (tmp_path / "edgesim.toml").write_text(config_with("http://api.example.com") + f"""
[[origins]]
id = "local"
url = "http://127.0.0.1:{port}"
connection_attempts = 1

[[cache_behaviors]]
path_pattern = "/local/*"
target_origin = "local"
""")
    (tmp_path / "cases.yaml").write_text("""
config: edgesim.toml
origins:
  web: {"/": home}
cases:
  - name: home
    request: {path: /}
    expect: {status: 200}
  - name: the api, unstubbed
    request: {path: /api/users}
    expect: {status: 502}
  - name: a local origin, down
    request: {path: /local/x}
    expect: {status: 200}
""")
    result = CliRunner().invoke(main, ["test", str(tmp_path / "cases.yaml")])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == "PASS  home" and lines[1].startswith("PASS  the api, unstubbed")
    # Passed, but only while the network answers as it did: said all the same.
    assert lines[2] == ("        note: origin 'api' is not stubbed in this test, and nothing answered at "
                        "http://api.example.com (1 of 1 request(s) failed): stub it under `origins:` in the "
                        "cases file (path -> response)") or lines[2].startswith(
                        "        note: origin 'api' is not stubbed in this test: its 1 request(s) went over the internet")
    assert f"        note: origin 'local' is not stubbed in this test, and nothing answered at http://127.0.0.1:{port} " \
           "(1 of 1 request(s) failed): stub it under `origins:` in the cases file (path -> response)" in lines
    assert sum("note:" in line for line in lines) == 2


async def test_a_cloudfront_functions_event_given_to_a_handler_is_named_as_one(tmp_path: Path) -> None:
    from edgesim.direct import invoke_lambda
    from edgesim.errors import UserError

    (tmp_path / "fn.py").write_text("def handler(event, context):\n    return event\n")
    event = {"version": "1.0", "context": {"eventType": "viewer-request"},
             "request": {"method": "GET", "uri": "/", "querystring": {}, "headers": {}, "cookies": {}}}
    with pytest.raises(UserError, match=r"^this is a CloudFront Functions event \(request at the top\), not a "
                                        r"Lambda@Edge one \(Records\[0\]\.cf\): make one with `edgesim "
                                        r"generate-event TRIGGER`, or run this one on a CloudFront Function"):
        await invoke_lambda("fn.py:handler", event, base_dir=tmp_path)


def test_the_last_request_of_an_origin_that_got_none_fails_at_the_test_line(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", edgesim=config_with("http://api.example.com"))
    pytester.makeini(INI)
    pytester.makepyfile(test_scratch_last="""
        import pytest

        @pytest.mark.edgesim(origins={"web": {"/": "home"}})
        def test_last(edge_origins):
            assert edge_origins["web"].last.uri == "/"
    """)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["E       AssertionError: origin 'web' got no request", "test_scratch_last.py:5: AssertionError"])
    result.stdout.no_fnmatch_line("*edgesim/stubs.py*")


# --- misused arguments: a clear error at the test's line ----------------------------------------

async def test_a_status_written_as_text_is_a_type_error_not_expected_200_got_200(edge_site: dict[str, Any]) -> None:
    from edgesim.assertions import assert_status

    (home,) = await responses(edge_site, "/")
    # It was "AssertionError: expected status 200, got 200": the two sides printed alike.
    with pytest.raises(TypeError, match=r"^status is a number such as 200, not '200' \(a str\); write "
                                        r"assert_status\(response, 200\)$"):
        assert_status(home, "200")  # type: ignore[arg-type]


async def test_a_misspelt_x_cache_result_gets_the_close_one(edge_site: dict[str, Any]) -> None:
    first, second = await responses(edge_site, "/", "/")
    assert message(lambda: assert_cache(second, "Hti")) == (
        "expected X-Cache 'Hti', got 'Hit' ('Hit from cloudfront'); 'Hti' is no X-Cache result: did you mean 'Hit'?")
    # A result edgesim does not name (CloudFront's LimitExceeded, say) is compared, not refused.
    assert message(lambda: assert_cache(second, "LimitExceeded")).startswith(
        "expected X-Cache 'LimitExceeded', got 'Hit'")


async def test_advancing_the_clock_by_text_is_a_type_error_naming_the_call(edge_site: dict[str, Any]) -> None:
    async with Distribution(edge_site, origins={"web": {"/": "home"}}) as dist:
        # It was "'<' not supported between instances of 'str' and 'int'" from inside clock.py.
        with pytest.raises(TypeError, match=r"^advance\(seconds\): seconds is a number \(30, 0\.5\), not '10' \(a str\)$"):
            dist.advance("10")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match=r"^advance\(seconds\): the clock only moves forward; got -1$"):
            dist.advance(-1)


async def test_a_miss_after_expiry_says_the_object_expired_not_first_request(edge_site: dict[str, Any]) -> None:
    origin = {"/": (200, {"Cache-Control": "max-age=10"}, "home")}
    async with Distribution(edge_site, origins={"web": origin}) as dist, dist.client() as client:
        await client.get("/")
        dist.advance(11)
        again = await client.get("/")
    text = message(lambda: assert_cache(again, "Hit"))
    assert "first request" not in text
    assert text.startswith(
        "expected X-Cache 'Hit', got 'Miss' ('Miss from cloudfront'); the cached object had expired (its TTL ran "
        "out), so CloudFront asked the origin again; a RefreshHit takes an ETag or Last-Modified on the cached "
        "object and a 304 from the origin")


# --- a stub that fails is the test's, not edgesim's ------------------------------------------------

def _boom(request: Any) -> str:
    raise ZeroDivisionError("division by zero")


def _not_a_response(request: Any) -> Any:
    return 42


async def _asgi_boom(scope: Any, receive: Any, send: Any) -> None:
    raise RuntimeError("app broke")


def _refused(request: Any) -> str:
    raise httpx.ConnectError("connection refused")


@pytest.mark.parametrize(("stub", "reason"), [
    (_boom, r"origin stub 'web': _boom\(\) raised ZeroDivisionError: division by zero \(test_testing_dx\.py:\d+\)"),
    (_not_a_response, r"origin 'web': _not_a_response\(\) returned: 42 is not a response; give a body"),
    (_asgi_boom, r"origin stub 'web': the app raised RuntimeError: app broke \(test_testing_dx\.py:\d+\)"),
])
async def test_an_origin_stub_that_fails_is_named_not_called_a_bug_in_edgesim(
        edge_site: dict[str, Any], stub: Any, reason: str) -> None:
    async with Distribution(edge_site, origins={"web": stub}) as dist, dist.client() as client:
        response = await client.get("/")
    # It was "SimulatorError: edgesim failed: ZeroDivisionError ..." and a page calling it a bug in edgesim.
    assert response.status_code == 500
    assert "bug in edgesim" not in response.text
    trace = dist.last_trace
    assert trace.error is not None
    assert re.match(r"OriginStubFailed: " + reason, trace.error), trace.error
    assert re.match(reason, trace.origin_requests[0].error or ""), trace.origin_requests[0].error


async def test_a_stub_raising_an_httpx_connect_error_is_still_an_unreachable_origin(edge_site: dict[str, Any]) -> None:
    async with Distribution(edge_site, origins={"web": _refused}) as dist, dist.client() as client:
        response = await client.get("/")
    assert response.status_code == 502 and dist.last_trace.error is not None
    assert dist.last_trace.error.startswith("OriginConnectionError")


async def test_a_header_the_origin_did_not_get_says_policies_decide_what_is_forwarded(edge_site: dict[str, Any]) -> None:
    async with Distribution(edge_site, origins={"web": {"/": "home"}}) as dist, dist.client() as client:
        await client.get("/", headers={"Authorization": "Bearer t"})
    with pytest.raises(KeyError) as missing:
        dist.origins["web"].last.headers["authorization"]
    # It listed the headers there were, and left the reader to guess why this one was not among them.
    assert missing.value.args[0].startswith("no header 'authorization'; the headers are: ")
    assert missing.value.args[0].endswith(
        "; the origin gets a viewer's header, or one a viewer-request function added, only when the behavior's "
        "cache policy or origin request policy forwards it (edge.last_trace shows each trigger's event)")


async def test_a_header_value_that_is_no_text_and_triggers_as_one_string_are_type_errors(
        edge_site: dict[str, Any]) -> None:
    from edgesim.assertions import assert_triggers

    (home,) = await responses(edge_site, "/")
    # It was "expected header content-length: 4, got '4'", the two sides printed alike.
    with pytest.raises(TypeError, match=r"^a header's value is text or None \(absent\), not 4 \(an int\); write "
                                        r"assert_header\(response, 'content-length', '4'\)$"):
        assert_header(home, "content-length", 4)  # type: ignore[arg-type]
    # It was "'v' is not a trigger point": the string read letter by letter.
    with pytest.raises(TypeError, match=r"^assert_triggers takes a list of triggers in order: write "
                                        r"assert_triggers\(response, \['viewer-request'\]\)$"):
        assert_triggers(home, "viewer-request")
    with pytest.raises(TypeError, match=r"^a header's value is text or None \(absent\), not 300 \(an int\); write "
                                        r"assert_header_set_by\(response, 'max-age', 'viewer-response', '300'\)$"):
        assert_header_set_by(home, "max-age", "viewer-response", 300)  # type: ignore[arg-type]


async def test_assert_logged_finds_a_functions_line_and_shows_its_lines_when_it_is_not_there(tmp_path: Path) -> None:
    from edgesim.assertions import assert_logged

    (tmp_path / "vr.js").write_text("function handler(event) { console.log('uri ' + event.request.uri);"
                                    " return event.request; }\n")
    (tmp_path / "security.py").write_text("def handler(event, context):\n    print('securing')\n"
                                          "    return event['Records'][0]['cf']['response']\n")
    config = {"origins": [{"id": "web", "url": "http://web.example.com"}],
              "default_cache_behavior": {"target_origin": "web", "functions": {
                  "viewer-request": {"cloudfront_function": str(tmp_path / "vr.js")},
                  "origin-response": {"lambda": f"{tmp_path / 'security.py'}:handler"}}}}
    async with Distribution(config, origins={"web": {"/": "home"}}) as dist, dist.client() as client:
        home = await client.get("/")
    assert_logged(home, "viewer-request", "uri /")
    assert_logged(home, "origin-response", "securing")  # among Lambda's START / END / REPORT lines
    assert message(lambda: assert_logged(home, "viewer-request", "denied")) == (
        "expected viewer-request (vr) to log a line containing 'denied'; it logged:\n  | uri /")
    assert message(lambda: assert_logged(home, "viewer-response", "x")) == (
        "expected viewer-response to log 'x', but viewer-response did not run (ran: viewer-request, origin-response)")


async def test_an_origin_never_called_says_where_the_response_came_from(edge_site: dict[str, Any]) -> None:
    robots, _, again = await responses(edge_site, "/robots.txt", "/", "/")
    # It stopped at "it was called 0 time(s)", leaving the why to the trace below.
    assert message(lambda: assert_origin_called(robots)) == (
        "expected the origin to be called at least once; it was called 0 time(s): viewer-request (robots) generated it")
    assert message(lambda: assert_origin_called(again, 1, origin="web")) == (
        "expected origin 'web' to be called 1 time(s); it was called 0 time(s): it came from the edge cache (Hit)")


async def test_a_header_the_test_sent_that_no_policy_forwards_to_origin_request_is_noted(tmp_path: Path) -> None:
    # The commonest Lambda@Edge auth surprise: Authorization sent, and the origin-request handler never
    # sees it, CachingDisabled forwarding nothing. The trace said only that the handler answered 401.
    (tmp_path / "auth.py").write_text(
        "def handler(event, context):\n    request = event['Records'][0]['cf']['request']\n"
        "    if 'authorization' not in request['headers']:\n"
        "        return {'status': '401', 'statusDescription': 'Unauthorized'}\n    return request\n")
    config = {"origins": [{"id": "web", "url": "http://web.example.com"}],
              "default_cache_behavior": {"target_origin": "web", "cache_policy": "CachingDisabled", "functions": {
                  "origin-request": {"lambda": f"{tmp_path / 'auth.py'}:handler"}}}}
    async with Distribution(config, origins={"web": {"/": "home"}}) as dist, dist.client() as client:
        denied = await client.get("/", headers={"Authorization": "Bearer t", "X-Trace": "1"})
    assert denied.status_code == 401
    assert trace_of(denied).notes == [
        "the viewer's authorization, x-trace did not reach origin-request (auth): a header reaches it only when "
        "the cache policy or origin request policy forwards it"]
    assert "note: the viewer's authorization, x-trace did not reach origin-request" in trace_of(denied).render()
    # Forwarded, nothing to note: CloudFront forwards Authorization only through the cache policy (an origin
    # request policy naming it is refused: https://repost.aws/knowledge-center/cloudfront-authorization-header).
    config["default_cache_behavior"]["cache_policy"] = {  # type: ignore[index]
        "min_ttl": 0, "default_ttl": 60, "max_ttl": 60, "headers": {"behavior": "whitelist", "items": ["Authorization"]}}
    async with Distribution(config, origins={"web": {"/": "home"}}) as dist, dist.client() as client:
        allowed = await client.get("/", headers={"Authorization": "Bearer t"})
    assert allowed.status_code == 200 and trace_of(allowed).notes == []
