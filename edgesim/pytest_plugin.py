"""pytest fixtures over edgesim.testing, registered through the `pytest11` entry point.

    def test_index(edge_client):
        response = edge_client.get("/docs/")
        assert response.status_code == 200

The config is, first found: `@pytest.mark.edgesim(config=...)` (a path relative to the test file,
or a dict), the `edgesim_config` ini option (relative to the rootdir), or an `edgesim.toml` in the
test file's folder or a parent up to the rootdir. Each test gets a fresh Distribution (fresh cache,
fresh KeyValueStore copies, fresh origin stubs); warm CloudFront Functions are shared across the
session's tests on one background event loop (edgesim.runtime_pool says why that cannot leak).
Under pytest-xdist each worker has its own loop, pool and temporary folder, and no fixed port.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # imported in the fixtures: installing edgesim must not slow every pytest run
    import httpx

    from edgesim.config import DistributionConfig
    from edgesim.runtime_pool import RuntimePool
    from edgesim.stubs import OriginSpec, OriginStub
    from edgesim.testing_sync import EdgeLoop, FunctionRunner, SyncDistribution

MARKER = "edgesim"
CONFIG_FILENAME = "edgesim.toml"  # config.CONFIG_FILENAME, not imported for the same reason


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("edgesim")
    group.addoption("--edgesim-socket", action="store_true", default=False,
                    help="send edgesim test requests through a real socket instead of in-process")
    parser.addini("edgesim_config", "the edgesim config for tests without an edgesim.toml next to them "
                  "(relative to the rootdir)", default="")
    parser.addini("edgesim_function_time_limit_ms", "wall-clock kill for a runaway CloudFront Function in "
                  "tests, unless the config sets distribution.function_time_limit_ms", default="500")
    parser.addini("edgesim_share_lambda", "share warm Lambda@Edge workers across tests (their module "
                  "globals then outlive a test)", type="bool", default=False)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}(config=None, origins=None, socket=False): the edgesim "
                            "distribution of this test: a config path or dict, origin stubs by origin id, "
                            "and whether to go through a real socket")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failing test that used the distribution shows what its requests did."""
    report = yield
    edge = getattr(item, "funcargs", {}).get("edge")
    if report.when == "call" and report.failed and _async_test_not_run(item, report):
        report.sections.append(("edgesim", _async_hint(item.config)))
        return report  # its distribution got no request: no traces to show
    if report.when == "call" and report.failed and edge is not None and hasattr(edge, "render_traces"):
        # An edgesim assertion already printed its request's trace in its message: not twice.
        from edgesim.trace import Trace

        error = call.excinfo.value if call.excinfo is not None else None
        shown = getattr(error, "edgesim_trace", None)
        rendered = edge.render_traces(shown=[shown] if isinstance(shown, Trace) else [])
        if rendered:
            _add_section(report, "edgesim traces", rendered)
    return report


def _add_section(report: pytest.TestReport, title: str, text: str) -> None:
    """A section of the failure itself, where there is one (a raised exception's): the terminal prints
    it under the traceback, as before, and --junitxml's <failure> holds it too, which a CI test report
    shows. report.sections (pytest's captured output) never reach the JUnit XML."""
    from _pytest._code.code import ExceptionRepr

    if isinstance(report.longrepr, ExceptionRepr):
        report.longrepr.addsection(title, text)
    else:
        report.sections.append((title, text))


def _async_test_not_run(item: pytest.Item, report: pytest.TestReport) -> bool:
    """An `async def` test of edgesim's that no async plugin ran: pytest fails it with a list of
    plugins to install, when the one a team has (pytest-asyncio, anyio) only wanted a marker."""
    import inspect

    function = getattr(item, "obj", None)
    uses_edgesim = any(name.startswith(("edge", "edgesim")) for name in getattr(item, "fixturenames", ()))
    return (uses_edgesim and inspect.iscoroutinefunction(function)
            and "async def functions are not natively supported" in report.longreprtext)


def _async_hint(config: pytest.Config) -> str:
    plugins = [how for name, how in (
        ("asyncio", "@pytest.mark.asyncio (pytest-asyncio is installed; or asyncio_mode = auto in the pytest ini)"),
        ("anyio", "@pytest.mark.anyio (anyio's plugin is installed)"),
    ) if config.pluginmanager.hasplugin(name)]
    how = " or ".join(plugins) if plugins else "pytest-asyncio or anyio installed, and its marker"
    return f"this async test did not run: it needs {how}; edge.async_client() works under either"


class _Configs:
    """Parsed configs by file and mtime: hundreds of tests share one parse per config file."""

    def __init__(self) -> None:
        self._cache: dict[tuple[Path, int], DistributionConfig] = {}

    def load(self, path: Path) -> DistributionConfig:
        from edgesim.config import load_config

        resolved = path.resolve()
        key = (resolved, resolved.stat().st_mtime_ns if resolved.exists() else 0)
        config = self._cache.get(key)
        if config is None:
            config = self._cache[key] = load_config(resolved)
        return config


@pytest.fixture(scope="session")
def edgesim_loop() -> Iterator[EdgeLoop]:
    """The session's event loop thread, where every test's distribution runs."""
    from edgesim.testing_sync import EdgeLoop

    loop = EdgeLoop()
    yield loop
    loop.close()


@pytest.fixture(scope="session")
def edgesim_runtimes(edgesim_loop: EdgeLoop, pytestconfig: pytest.Config) -> Iterator[RuntimePool]:
    """Warm functions shared by the session's tests."""
    from edgesim.runtime_pool import RuntimePool

    pool = RuntimePool(share_lambda=bool(pytestconfig.getini("edgesim_share_lambda")))
    yield pool
    edgesim_loop.run(pool.aclose())


@pytest.fixture(scope="session")
def _edgesim_session(tmp_path_factory: pytest.TempPathFactory) -> tuple[_Configs, Path]:
    # One private KVS folder per session (per xdist worker): stable copy paths keep warm
    # functions valid, and nothing is shared between workers.
    return _Configs(), tmp_path_factory.mktemp("edgesim-kvs")


# The marker's keywords. pytest passes a marker whatever it was given, so one it does not take
# (`edgesim("edgesim.toml")`, `edgesim(orgins=...)`) would be ignored without a word and the test run
# on the default config or without its stubs.
_MARKER_KEYWORDS = ("config", "origins", "socket")


def _marker_kwargs(request: pytest.FixtureRequest) -> dict[str, Any]:
    from edgesim.config_errors import did_you_mean

    kwargs: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers(MARKER))):  # closest marker wins
        if marker.args:
            pytest.fail(f"edgesim: @pytest.mark.{MARKER}({marker.args[0]!r}) of {request.node.nodeid}: the marker "
                        f"takes keywords only; write @pytest.mark.{MARKER}(config={marker.args[0]!r})"
                        if len(marker.args) == 1 else
                        f"edgesim: @pytest.mark.{MARKER} of {request.node.nodeid} takes keywords only "
                        f"({', '.join(_MARKER_KEYWORDS)}), not positional arguments", pytrace=False)
        for key in marker.kwargs:
            if key not in _MARKER_KEYWORDS:
                meant = did_you_mean(key, _MARKER_KEYWORDS)
                pytest.fail(f"edgesim: @pytest.mark.{MARKER}({key}=...) of {request.node.nodeid}: not a keyword "
                            f"it takes" + (f"; did you mean {meant}=?" if meant else "") +
                            f" (it takes {', '.join(_MARKER_KEYWORDS)})", pytrace=False)
        kwargs.update(marker.kwargs)
    return kwargs


def find_test_config(test_file: Path, rootdir: Path, ini_value: str = "") -> Path:  # type: ignore[return]
    """The config for a test file: the ini option, else edgesim.toml beside it or in a parent."""
    if ini_value:
        return rootdir / ini_value
    folder = test_file.parent
    while True:
        candidate = folder / CONFIG_FILENAME
        if candidate.is_file():
            return candidate
        if folder == rootdir or folder.parent == folder:
            break
        folder = folder.parent
    pytest.fail(
        f"edgesim: no {CONFIG_FILENAME} next to {test_file} (or in a parent up to {rootdir}); add one, "
        f"mark the test @pytest.mark.edgesim(config='path/to/{CONFIG_FILENAME}'), or set "
        f"edgesim_config in the pytest ini", pytrace=False)


@pytest.fixture
def edgesim_config(request: pytest.FixtureRequest,
                   _edgesim_session: tuple[_Configs, Path]) -> DistributionConfig | Mapping[str, Any]:
    """The config this test runs; override the fixture to build one in code."""
    from edgesim.config import DistributionConfig
    from edgesim.errors import ConfigError

    configs, _ = _edgesim_session
    test_file = Path(str(request.node.path))
    chosen = _marker_kwargs(request).get("config")
    if isinstance(chosen, DistributionConfig):
        return chosen
    if isinstance(chosen, Mapping):
        return _parse_dict(chosen, test_file.parent, f"@pytest.mark.edgesim(config={{...}}) of {request.node.nodeid}")
    rootdir = Path(str(request.config.rootpath))
    path = (test_file.parent / chosen if chosen is not None
            else find_test_config(test_file, rootdir, str(request.config.getini("edgesim_config"))))
    try:
        return configs.load(path)
    except ConfigError as exc:
        problems = exc.problems
    # One line per problem, naming file and field, the first on the first line so that pytest's short
    # summary names it; failed outside the `except` so pytest does not print the ConfigError, then
    # "During handling of the above exception", then the same lines again.
    pytest.fail("edgesim config: " + "\n".join(problems), pytrace=False)


def _parse_dict(data: Mapping[str, Any], base_dir: Path, where: str) -> DistributionConfig:
    """A config written as a dict, parsed here rather than inside the distribution: a mistake in it
    fails the test in one line per problem naming `where` the dict came from, as a bad file does."""
    from edgesim.config import parse_config
    from edgesim.errors import ConfigError

    try:
        return parse_config(dict(data), base_dir=base_dir, label=where)
    except ConfigError as exc:
        problems = exc.problems
    pytest.fail("edgesim config: " + "\n".join(problems), pytrace=False)  # outside `except`: said once


@pytest.fixture
def edgesim_origins(request: pytest.FixtureRequest) -> Mapping[str, OriginSpec]:
    """Origin stubs by origin id (none by default); override this fixture, and a test's marker
    `origins=` replaces single entries on top of it."""
    return {}


@pytest.fixture
def edge(request: pytest.FixtureRequest, edgesim_loop: EdgeLoop, edgesim_runtimes: RuntimePool,
         edgesim_config: DistributionConfig | Mapping[str, Any], edgesim_origins: Mapping[str, OriginSpec],
         _edgesim_session: tuple[_Configs, Path]) -> Iterator[SyncDistribution]:
    """This test's distribution: fresh cache, KeyValueStores and stubs; controls and traces."""
    from edgesim.errors import ConfigError, StubError, UserError
    from edgesim.testing_sync import SyncDistribution

    marker = _marker_kwargs(request)
    if not edgesim_origins and not marker.get("origins"):
        misnamed = _misnamed_origins_fixture(request)
        if misnamed is not None:
            pytest.fail(f"edgesim: this test stubs no origin, and a fixture {misnamed!r} is defined for it: "
                        "did you mean edgesim_origins? (edgesim_origins gives the stubs; edge_origins is what "
                        "they got)", pytrace=False)
    socket = bool(marker.get("socket") or request.config.getoption("--edgesim-socket"))
    origins = {**edgesim_origins, **(marker.get("origins") or {})}
    base_dir = Path(str(request.node.path)).parent
    if isinstance(edgesim_config, Mapping):  # an overridden edgesim_config fixture built it in code
        edgesim_config = _parse_dict(edgesim_config, base_dir, f"the edgesim_config fixture of {request.node.nodeid}")
    time_limit = float(request.config.getini("edgesim_function_time_limit_ms"))
    distribution = SyncDistribution(edgesim_config, origins=origins, base_dir=base_dir,
                                    runtimes=edgesim_runtimes, socket=socket, workdir=_edgesim_session[1],
                                    loop=edgesim_loop, function_time_limit_ms=time_limit)
    problem: str | None = None
    try:
        distribution.start()
    except UserError as exc:
        problem = str(exc)
        if isinstance(exc, StubError) or (isinstance(exc, ConfigError) and exc.field == "origins"):
            problem += f" (this test's origin stubs come from {_origins_source(marker, edgesim_origins)})"
    if problem is not None:  # the user's mistake in one line, not a traceback through edgesim's loop
        pytest.fail(f"edgesim: {problem}", pytrace=False)
    try:
        yield distribution
        _warn_unstubbed(request, distribution)
    finally:
        distribution.close()


def _warn_unstubbed(request: pytest.FixtureRequest, distribution: SyncDistribution) -> None:
    """Warn, at the test's own line, for each origin its requests reached over the internet unstubbed."""
    import warnings

    from edgesim.unstubbed_origins import UnstubbedOriginWarning

    path, line, _ = request.node.location
    for origin in distribution.unstubbed_origins():
        if origin.local:
            continue
        escalated: str | None = None
        try:
            warnings.warn_explicit(UnstubbedOriginWarning(origin.warning()), UnstubbedOriginWarning,
                                   str(request.config.rootpath / path), (line or 0) + 1)
        except UnstubbedOriginWarning as exc:  # `filterwarnings = error`
            escalated = f"{type(exc).__name__}: {exc}"
        if escalated is not None:  # failed outside `except`: one line, not this frame and the warning's
            pytest.fail(escalated, pytrace=False)


def _misnamed_origins_fixture(request: pytest.FixtureRequest) -> str | None:
    """A fixture this test sees whose name is close to edgesim_origins (edgesim_origin, edge_origins
    overridden...): stubs written there are silently never used. pytest lists a node's visible fixtures
    only through its FixtureManager (not public API): when that changes, this check says nothing."""
    import difflib

    try:
        manager = request._fixturemanager
        # Every fixture name pytest knows: _arg2fixturedefs up to pytest 9.1, _arg2node2fixturedefs since.
        known = getattr(manager, "_arg2fixturedefs", None) or getattr(manager, "_arg2node2fixturedefs", {})
        names = [name for name in known if name != "edgesim_origins"]
        for name in difflib.get_close_matches("edgesim_origins", names, n=3, cutoff=0.8):
            defs = manager.getfixturedefs(name, request.node)
            if defs and getattr(defs[-1].func, "__module__", __name__) != __name__:
                return name
    except (AttributeError, TypeError):
        return None
    return None


def _origins_source(marker: Mapping[str, Any], fixture: Mapping[str, Any]) -> str:
    """Where this test's origin stubs came from, so a failure points at the line to fix."""
    sources = [name for name, given in (("@pytest.mark.edgesim(origins=...)", marker.get("origins")),
                                        ("the edgesim_origins fixture", fixture)) if given]
    return " and ".join(sources) or "nowhere"


@pytest.fixture
def edge_client(edge: SyncDistribution) -> httpx.Client:
    """An httpx.Client whose requests go through this test's distribution."""
    return edge.client()


@pytest.fixture
def edge_origins(edge: SyncDistribution) -> dict[str, OriginStub]:
    """The stubbed origins of this test by id; each lists the requests it got."""
    return edge.origins


@pytest.fixture
def edge_functions(request: pytest.FixtureRequest, edgesim_loop: EdgeLoop) -> FunctionRunner:
    """Run one function on one event: `.cloudfront_function(path, event)` gives what `aws cloudfront
    test-function` prints; `.lambda_handler("file.py:handler", event)` the result, logs, validation."""
    from edgesim.testing_sync import FunctionRunner

    return FunctionRunner(edgesim_loop, Path(str(request.node.path)).parent)
