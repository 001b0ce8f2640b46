"""`edgesim test CASES.yaml`: test cases written as data, run against a distribution.

    config: edgesim.toml            # optional, relative to this file; --config wins
    origins:                        # optional canned origins by origin id (path -> response)
      api: {"/hello": {status: 200, body: hi}}
    cases:
      - name: directory URLs get index.html
        request: {path: /docs/, headers: {Accept: text/html}, viewer: {country: FR}}
        advance: 0                  # seconds to move the cache clock first
        expect:
          status: 200
          headers: {content-type: text/html, x-absent: null}   # null: must be absent
          body_contains: ["<h1>"]
          cache: Miss               # the X-Cache result
          triggers: [viewer-request, origin-response]          # exactly these, in order

Cases run in order against one distribution, so a repeated request can be a cache hit.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edgesim.assertions import cache_result, header_story
from edgesim.config import find_config, read_user_text
from edgesim.config_errors import did_you_mean, keys_at
from edgesim.errors import ConfigError
from edgesim.messages import EventType
from edgesim.testing import Distribution, trace_of, viewer_headers
from edgesim.trace import Trace
from edgesim.unstubbed_origins import unstubbed_origins


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CaseRequest(_Strict):
    method: str = "GET"
    path: str = "/"
    headers: dict[str, str] = {}
    body: str = ""
    viewer: dict[str, str] = {}


class Expect(_Strict):
    status: int | None = None
    headers: dict[str, str | bool | None] = {}
    body: str | None = None
    body_contains: list[str] | str = []
    cache: str | None = None
    triggers: list[EventType] | None = None


class Case(_Strict):
    name: str
    request: CaseRequest = CaseRequest()
    advance: float = Field(default=0, ge=0)
    expect: Expect = Expect()


class CaseFile(_Strict):
    config: str | None = None
    origins: dict[str, dict[str, Any]] = {}
    cases: list[Case] = Field(min_length=1)


@dataclass
class CaseResult:
    name: str
    line: int
    failures: list[str] = field(default_factory=list)
    trace: str = ""
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)  # shown passed or failed: an origin reached unstubbed

    @property
    def passed(self) -> bool:
        return not self.failures


# Other tools' words for a key, too far from ours for a spelling match: a request's `url` (httpx,
# requests) is its `path`; pytest's `tests` are our `cases`.
_OTHER_WORDS = {"url": "path", "uri": "path", "tests": "cases"}


def load_cases(path: Path) -> tuple[CaseFile, list[int]]:
    """Parse and validate a cases file; errors name the file, the case's line and the field."""
    if path.suffix == ".toml":  # the config, given where its cases go: as YAML it fails on `id = "..."`
        raise ConfigError(f"this is a config, not a cases file: run `edgesim test CASES.yaml --config {path}`",
                          file=str(path))
    text = read_user_text(path, "cases")
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", file=str(path)) from None
    if not isinstance(data, dict):
        # pydantic would say "Input should be a valid dictionary or instance of CaseFile" at an empty
        # location: the file's shape, told in its own terms.
        shape = "empty" if data is None else "a list" if isinstance(data, list) else "not a mapping"
        fix = "indent the list under `cases:`" if isinstance(data, list) else "write `cases:` and the cases under it"
        raise ConfigError(f"the file is {shape}; a cases file is a mapping with `cases:`, a list of cases "
                          f"(`config:` optional): {fix}", file=str(path))
    lines = _case_lines(node)
    try:
        return CaseFile.model_validate(data), lines
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = err["loc"]
            where = ".".join(str(p) for p in loc)
            if len(loc) > 1 and loc[0] == "cases" and isinstance(loc[1], int) and loc[1] < len(lines):
                where = f"line {lines[loc[1]]}: {where}"
            msg = str(err["msg"])
            if err["type"] == "extra_forbidden":
                keys = keys_at(CaseFile, loc[:-1])
                meant = did_you_mean(str(loc[-1]), keys) or _OTHER_WORDS.get(str(loc[-1]))
                meant = meant if meant in keys else None
                msg = f"unknown key; did you mean {meant!r}?" if meant else "unknown key"
            problems.append(f"{path}: {where}: {msg}")
        raise ConfigError.many(problems) from None


def _case_lines(node: yaml.Node | None) -> list[int]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == "cases" and isinstance(value, yaml.SequenceNode):
                return [item.start_mark.line + 1 for item in value.value]
    return []


def check(case: Case, status: int, headers: Any, body: str, cache: str, triggers: list[str],
          trace: Trace | None = None) -> list[str]:
    """What the response got wrong, one line per expectation; with the request's `trace`, a wrong
    header also says which function set, changed or removed it."""
    want = case.expect
    out: list[str] = []
    if want.status is not None and status != want.status:
        out.append(f"status: expected {want.status}, got {status}")
    for name, value in want.headers.items():
        got = headers.get(name)
        story = f"; {header_story(trace, name)}" if trace is not None and trace.triggers else ""
        if value is None or value is False:
            if got is not None:
                out.append(f"header {name}: expected absent, got {got!r}{story}")
        elif value is True:
            if got is None:
                out.append(f"header {name}: expected present, absent{story}")
        elif got != value:
            out.append(f"header {name}: expected {value!r}, got {got!r}{story}")
    if want.body is not None and body != want.body:
        out.append(f"body: expected {want.body[:200]!r}, got {body[:200]!r}")
    fragments = [want.body_contains] if isinstance(want.body_contains, str) else want.body_contains
    for fragment in fragments:
        if fragment not in body:
            out.append(f"body: expected to contain {fragment!r}; body starts {body[:200]!r}")
    if want.cache is not None and cache.lower() != want.cache.lower():
        out.append(f"cache: expected {want.cache!r}, got {cache!r}")
    if want.triggers is not None and [t.value for t in want.triggers] != triggers:
        out.append(f"triggers: expected {[t.value for t in want.triggers]}, ran {triggers}")
    return out


async def run_cases(path: Path, config_path: Path | None = None) -> list[CaseResult]:
    """Run every case of `path`, in order, against one in-process distribution."""
    cases, lines = load_cases(path)
    if config_path is None and cases.config:
        config_path = path.parent / cases.config
        if not config_path.is_file():  # say which line of which file named it, and from where
            raise ConfigError(f"no such file: {config_path.resolve()} (config is relative to the cases file's folder)",
                              file=str(path), field="config")
    if config_path is None:
        config_path = find_config(None)
    results: list[CaseResult] = []
    async with Distribution(config_path, origins=cases.origins) as dist, dist.client() as client:
        for case, line in zip(cases.cases, lines or [0] * len(cases.cases)):
            result = CaseResult(case.name, line)
            started = time.perf_counter()
            dist.advance(case.advance)
            r = case.request
            # Values as UTF-8 bytes: httpx refuses text outside ASCII, a viewer sends it as UTF-8 (spec §1.4).
            headers = [(k.encode(), v.encode()) for k, v in {**r.headers, **viewer_headers(**r.viewer)}.items()]
            response = await client.request(r.method, r.path, headers=headers, content=r.body.encode() or None)
            try:
                trace = trace_of(response)
            except AssertionError:
                result.failures.append("the response carries no trace")
                results.append(result)
                continue
            triggers = [t.event_type.value for t in trace.triggers]
            result.failures = check(case, response.status_code, response.headers, response.text,
                                    cache_result(response), triggers, trace)
            result.trace = trace.render(details=True)
            result.notes = _unstubbed_notes(trace, dist, failed=not result.passed)
            result.seconds = time.perf_counter() - started
            results.append(result)
    return results


def _unstubbed_notes(trace: Trace, dist: Distribution, *, failed: bool) -> list[str]:
    """A case's requests to an origin the cases file does not stub: always said when they went over
    the internet (a case that passes only while the network is up), and when one got no answer in a
    case that failed (the 502 it explains)."""
    how = "stub it under `origins:` in the cases file (path -> response)"
    found = unstubbed_origins([trace], dist.config, dist.origins, ())
    return [hint for o in found if (not o.local or failed) and (hint := o.hint(how)) is not None]


def summary(results: list[CaseResult], path: Path) -> str:
    lines: list[str] = []
    for result in results:
        if result.passed:
            lines.append(f"PASS  {result.name}")
            lines.extend(f"        note: {note}" for note in result.notes)
            continue
        lines.append(f"FAIL  {result.name}  ({path}:{result.line})")
        lines.extend(f"        - {failure}" for failure in result.failures)
        lines.extend(f"        note: {note}" for note in result.notes)
        lines.extend(f"        {row}" for row in result.trace.splitlines())
    failed = sum(1 for r in results if not r.passed)
    lines.append(f"{len(results) - failed} passed, {failed} failed")
    return "\n".join(lines)


def junit_xml(results: list[CaseResult], path: Path) -> bytes:
    """JUnit XML as CI systems read it: one testsuite, a testcase per case."""
    suite = ET.Element("testsuite", name=f"edgesim {path.name}", tests=str(len(results)),
                       failures=str(sum(1 for r in results if not r.passed)), errors="0",
                       time=f"{sum(r.seconds for r in results):.3f}")
    for result in results:
        case = ET.SubElement(suite, "testcase", classname=path.stem, name=result.name, time=f"{result.seconds:.3f}",
                             file=str(path), line=str(result.line))
        if not result.passed:
            failure = ET.SubElement(case, "failure", message=result.failures[0])
            failure.text = "\n".join(result.failures) + "\n\n" + result.trace
    return ET.tostring(suite, encoding="utf-8", xml_declaration=True)
