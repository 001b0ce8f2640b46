"""What a test writer sees when a test goes wrong: scratch projects run with pytester, each failure
read as the user reads it (the message, the report's sections, the warnings summary)."""

from __future__ import annotations

import socket

import pytest

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
