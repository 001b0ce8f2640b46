"""click: the `edgesim` command. Each command is a few lines over a public function."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO, NoReturn

import click

from edgesim.config import CONFIG_FILENAME, config_above, default_config_path, find_config, load_config
from edgesim.config_checks import config_warnings
from edgesim.docs_links import cite
from edgesim.errors import ConfigError, UserError
from edgesim.event_files import load_event


def _load(config_path: Path | None):  # type: ignore[no-untyped-def]
    path = find_config(config_path)
    _note_config_above(config_path, path)
    try:
        return load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        raise SystemExit(1) from None


def _note_config_above(config_path: Path | None, path: Path) -> None:
    """Run from a project's subfolder, a command gets the embedded default: say which config it
    passed over, lest `check` say ok of a config the user never wrote."""
    if config_path is not None or path != default_config_path():
        return
    above = config_above(Path.cwd())
    if above is not None and above != path:
        click.echo(f"note: no {CONFIG_FILENAME} in this folder, so this is the embedded default; {above} "
                   f"is a parent folder's: run from {above.parent} or pass --config {above}", err=True)


DEFAULT_PORT = 8080
PORTS_TRIED = 20  # without --port: 8080, else the next free one of these

config_option = click.option(
    "--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
    help="Distribution config (TOML). Default: ./edgesim.toml if present, else the embedded default.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="edgesim")
def main() -> None:
    """edgesim: Amazon CloudFront's edge on your machine."""


@main.command()
@config_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; 0.0.0.0 exposes it to your network.")
@click.option("--port", type=click.IntRange(0, 65535),
              help=f"0: any free port. Without it: {DEFAULT_PORT}, or the next free one up to "
                   f"{DEFAULT_PORT + PORTS_TRIED - 1} when it is taken.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--no-reload", is_flag=True, help="Do not watch the config and function files.")
@click.option("--no-cache", is_flag=True, help="Turn the edge cache off: every request goes to the origin.")
@click.option("--inspect", is_flag=True,
              help="Start each Lambda@Edge handler's worker with a debugger port on 127.0.0.1 (Node inspector; "
                   "debugpy for Python, if installed); lifts their time limits.")
@click.option("--inspect-port", type=click.IntRange(1024, 65535), default=None,
              help="With --inspect: the first handler's port; the others take the next free ones.  [default: 9229]")
def serve(config_path: Path | None, host: str, port: int | None, log_format: str, no_reload: bool,
          no_cache: bool, inspect: bool, inspect_port: int | None) -> None:
    """Serve a distribution as a local reverse proxy."""
    from edgesim.request_log import printer
    from edgesim.event_loop import run_event_loop
    from edgesim.server import bind_problem
    from edgesim.server import serve as run_server
    from edgesim.simulator import Simulator

    if inspect_port is not None and not inspect:
        raise click.UsageError("--inspect-port goes with --inspect")
    if port is None:  # as Vite does: a second project's serve next to the first needs no flag
        candidates = range(DEFAULT_PORT, DEFAULT_PORT + PORTS_TRIED)
        port = next((p for p in candidates if bind_problem(host, p) is None), DEFAULT_PORT)
        if port != DEFAULT_PORT:
            click.echo(f"port {DEFAULT_PORT} is in use; serving on {port}", err=True)
    problem = bind_problem(host, port)
    if problem is not None:
        click.echo(f"error: {problem}", err=True)
        raise SystemExit(1)
    try:
        path = find_config(config_path)
        if no_reload or not path.is_file():
            config = _load(config_path)
        else:  # a broken config is waited on, as its later edits are while serving
            _note_config_above(config_path, path)
            from edgesim.reload import wait_for_valid_config

            config = wait_for_valid_config(path, lambda line: click.echo(line, err=True))
        inspector = None
        if inspect:
            from edgesim.lambda_edge.inspector import DEFAULT_BASE_PORT, Inspector

            inspector = Inspector(DEFAULT_BASE_PORT if inspect_port is None else inspect_port)
        simulator = Simulator(config, cache=not no_cache, inspector=inspector)
        run_event_loop(run_server(simulator, host, port, on_trace=printer(log_format, inspecting=inspect),
                                  reload=not no_reload))
    except KeyboardInterrupt:
        pass


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--url", default="http://127.0.0.1:8080", show_default=True, help="The running `edgesim serve`.")
def invalidate(paths: tuple[str, ...], url: str) -> None:
    """Invalidate cached objects in a running server, with CloudFront's path rules ('/images/*')."""
    from edgesim.admin_client import invalidate as send_invalidation

    try:
        removed = send_invalidation(url, list(paths))
    except RuntimeError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from None
    click.echo(f"invalidated {removed} object{'s' if removed != 1 else ''} for {', '.join(paths)}")


@main.command()
@config_option
def check(config_path: Path | None) -> None:
    """Validate the config and every function it names, without serving."""
    from edgesim.simulator import check_functions

    path = find_config(config_path)
    if config_path is None and path == default_config_path():
        # Not the embedded default: `check` gates deploys in CI, and an ok for the sample distribution
        # from a job run in the wrong folder would pass a project nobody checked. (`serve` keeps it.)
        above = config_above(Path.cwd())
        where = (f"{above} is a parent folder's: run from {above.parent} or pass --config {above}"
                 if above is not None else f"pass --config FILE (--config {path} checks the embedded default)")
        click.echo(f"error: no {CONFIG_FILENAME} in {Path.cwd()}, so nothing of yours to check; {where}", err=True)
        raise SystemExit(2)
    config = _load(config_path)
    problems = check_functions(config)
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
    for warning in config_warnings(config):
        click.echo(f"warning: {warning}", err=True)
    from edgesim.config_schema import schema_line_warning  # here: `serve` need not build the schema

    if (stale := schema_line_warning(path)) is not None:
        click.echo(f"warning: {stale}", err=True)
    if problems:
        raise SystemExit(1)
    count = sum(1 for _ in config.function_associations())
    click.echo(f"ok: {path}: {_count(len(config.cache_behaviors) + 1, 'behavior')}, "
               f"{_count(len(config.origins), 'origin')}, {_count(count, 'function association')}")


@main.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False), default=".")
def init(folder: Path) -> None:
    """Start a project in FOLDER (default: here) from the embedded default distribution."""
    from edgesim.scaffold import scaffold

    try:
        created = scaffold(folder)
    except UserError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from None
    click.echo(f"created an edgesim project in {folder}:")
    for entry in created.entries:
        click.echo(f"  {entry.as_posix()}{'/' if (folder / entry).is_dir() else ''}")
    for event_type, kind, path in created.functions:
        click.echo(f"    {path.as_posix()}  ({kind} at {event_type})")
    go = "" if folder.resolve() == Path.cwd().resolve() else f"cd {folder} && "
    click.echo(f"next: {go}edgesim serve    (then pytest, or edgesim test cases.yaml)")


@main.command()
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write it to this file (default: print it).")
@click.option("--force", is_flag=True, help="Overwrite the output file even when it is not a schema edgesim wrote.")
def schema(output: Path | None, force: bool) -> None:
    """The config's JSON Schema, for editors: put `#:schema ./edgesim.schema.json` atop edgesim.toml."""
    import json
    import os

    from edgesim.config_schema import config_schema, is_edgesim_schema

    text = json.dumps(config_schema(), indent=2) + "\n"
    if output is None:
        click.echo(text, nl=False)
        return
    # `-o edgesim.toml` (the config, not its schema) must not cost the user their config: an existing
    # file is replaced only when it is an earlier `edgesim schema`, as `init` and `import` never
    # overwrite either.
    if output.exists() and not force and not is_edgesim_schema(output):
        click.echo(f"error: {output} exists and is not a schema edgesim wrote; write the schema to "
                   "edgesim.schema.json (or add --force)", err=True)
        raise SystemExit(1)
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        click.echo(f"error: cannot write {output}: {exc.strerror}", err=True)
        raise SystemExit(1) from None
    # Editors resolve `#:schema` from the config's folder: the path from ./edgesim.toml to the schema.
    relative = Path(os.path.relpath(output.resolve(), Path.cwd().resolve())).as_posix()
    relative = relative if relative.startswith("../") else f"./{relative}"
    click.echo(f"wrote {output}; start ./edgesim.toml with the line  #:schema {relative}", err=True)


@main.command("import")
@click.argument("file", type=click.Path(path_type=Path, exists=True))
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), default=Path("edgesim.toml"),
              show_default=True, help="The edgesim config to write.")
@click.option("--functions", "functions_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Where the functions' code is (and goes, from a template).  [default: functions/ beside the output]")
@click.option("--resource", metavar="LOGICAL_ID", help="The distribution to import, when a template has several "
              "(a Terraform resource's name or address).")
@click.option("--policy", "policy_files", multiple=True, type=click.Path(path_type=Path, dir_okay=False, exists=True),
              metavar="FILE", help="A custom policy the distribution names by ID: `aws cloudfront get-cache-policy` "
              "(get-origin-request-policy, get-response-headers-policy, or a list-... command) output. Repeatable.")
@click.option("--force", is_flag=True, help="Overwrite the output if it exists.")
def import_command(file: Path, output: Path, functions_dir: Path | None, resource: str | None,
                   policy_files: tuple[Path, ...], force: bool) -> None:
    """Write an edgesim config from a CloudFront distribution: `aws cloudfront get-distribution-config`
    output, a DistributionConfig, a CloudFormation / CDK template (JSON or YAML), Terraform (a .tf or
    .tf.json file, a folder of them, or `terraform show -json` output), or a Serverless Framework service
    (serverless.yml, or its folder)."""
    from edgesim.config_import import import_file

    if output.exists() and not force:
        click.echo(f"error: {output} exists; choose another --output or add --force", err=True)
        raise SystemExit(1)
    folder = functions_dir if functions_dir is not None else output.parent / "functions"
    try:
        result = import_file(file, output=output, functions_dir=folder, resource=resource,
                             policy_files=policy_files)
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        raise SystemExit(1) from None
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    written = result.write(output)
    click.echo(f"wrote {output} from {file} ({result.shape}, {_count(len(result.notes), 'note')})")
    for path in written:
        click.echo(f"wrote {_shown(path)} (the template's code)")
    if result.missing:
        click.echo("create these function files before serving (`edgesim check` names any still missing):")
        for path in result.missing:
            click.echo(f"  {_shown(path)}")


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


@main.command("test")
@click.argument("cases_file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Distribution config (TOML). Default: the cases file's `config`, else as for serve.")
@click.option("--junit-xml", "junit", type=click.Path(path_type=Path, dir_okay=False), help="Write JUnit XML here.")
def test_cases(cases_file: Path, config_path: Path | None, junit: Path | None) -> None:
    """Run request/expectation cases written in YAML; exit 1 if any fails."""
    from edgesim.cases import junit_xml, run_cases, summary

    try:
        results = asyncio.run(run_cases(cases_file, config_path))
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        raise SystemExit(2) from None
    except (UserError, TypeError) as exc:  # a function that cannot load, an origin that is not one
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    click.echo(summary(results, cases_file))
    if junit is not None:
        junit.write_bytes(junit_xml(results, cases_file))
    if any(not r.passed for r in results):
        raise SystemExit(1)


class _IsoTime(click.ParamType):
    """An ISO 8601 time (`2025-01-01T00:00:00Z`, `2025-01-01T00:00`, `2025-01-01`); no zone means UTC."""

    name = "ISO-8601"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            when = datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 time; write e.g. 2025-01-01T00:00:00Z", param, ctx)
        return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


@main.command("test-function")
@click.argument("function", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--event", "event_file", required=True, type=click.File("rb"),
              help="The test event JSON (CloudFront's event structure); '-' reads stdin.")
@click.option("--runtime", type=click.Choice(["cloudfront-js-1.0", "cloudfront-js-2.0"]), default="cloudfront-js-2.0",
              show_default=True)
@click.option("--kvs", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="A KeyValueStore in CloudFront's import JSON (runtime 2.0).")
@click.option("--now", type=_IsoTime(),
              help="Pin the invocation's clock (ISO 8601, e.g. 2025-01-01T00:00:00Z; no zone is UTC); default now.")
@click.option("--fail-on-error", is_flag=True, help="Exit 1 when the function fails (the AWS CLI exits 0).")
def test_function_command(function: Path, event_file: BinaryIO, runtime: str, kvs: Path | None, now: datetime | None,
                          fail_on_error: bool) -> None:
    """Run a CloudFront Function on an event and print what `aws cloudfront test-function` prints."""
    from edgesim.cloudfront_functions import test_function
    from edgesim.cloudfront_functions.hints import runtime_hint
    from edgesim.cloudfront_functions.testfunction import event_notes, source_line
    from edgesim.errors import UserError

    try:
        event = load_event(event_file.read(), "")
    except UserError as exc:
        raise click.BadParameter(str(exc).removeprefix(": "), param_hint="--event") from None
    for note in event_notes(event):
        click.echo(f"note: {note}; run as given", err=True)
    try:
        result = asyncio.run(test_function(function.resolve(), event, runtime=runtime,
                                           kvs=kvs.resolve() if kvs else None, now=now))
    except UserError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    click.echo(json.dumps(result, indent=4))
    if result.error_line is not None:  # CloudFront's message has no line: say where it was thrown
        click.echo(f"note: thrown at {source_line(function, result.error_line)}", err=True)
        hint = runtime_hint(result["TestResult"]["FunctionErrorMessage"], runtime)
        if hint:
            click.echo(f"note: {hint}", err=True)
    failure = result["TestResult"]["FunctionErrorMessage"]
    if fail_on_error and failure:
        # stdout stays the AWS CLI's JSON; a CI log shows stderr, so the failure is said there too.
        where = f"{function}:{result.error_line}" if result.error_line is not None else str(function)
        click.echo(f"error: {where}: {failure}", err=True)
        raise SystemExit(1)


_TRIGGERS = click.Choice(["viewer-request", "origin-request", "origin-response", "viewer-response"])


@main.command()
@click.argument("handler")
@click.option("--event", "event_file", required=True, type=click.File("rb"),
              help="Event JSON (AWS or `sam local generate-event cloudfront` format); '-' reads stdin.")
@click.option("--event-type", type=_TRIGGERS, help="Default: the event's own Records[0].cf.config.eventType.")
@click.option("--validate", is_flag=True, help="Also apply CloudFront's validation; say what the viewer would get.")
@click.option("--timeout", type=float, help="Seconds. Default: the trigger's limit (5 s viewer, 30 s origin).")
@click.option("--memory", type=int, help="MB. Default: 128.")
@click.option("--aws-credentials", is_flag=True,
              help="Give the handler this shell's AWS credentials (AWS_* variables), for SDK calls.")
@click.option("--python-site-packages", is_flag=True,
              help="Let a Python handler import any package edgesim's environment has, which Lambda@Edge would not.")
def invoke(handler: str, event_file, event_type: str | None, validate: bool,  # type: ignore[no-untyped-def]
           timeout: float | None, memory: int | None, aws_credentials: bool, python_site_packages: bool) -> None:
    """Run one event through a Lambda@Edge HANDLER (path/file.py:handler, file.js:handler) without a server.

    Prints the handler's result as JSON on stdout and its log on stderr; exits 1 when it fails.
    """
    import json

    from edgesim.errors import UserError
    from edgesim.lambda_edge import invoke_handler
    from edgesim.messages import EventType

    try:
        event = load_event(event_file.read(), f"--event {getattr(event_file, 'name', '-')}")
    except UserError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        result = asyncio.run(invoke_handler(handler, event, validate=validate, timeout=timeout, memory=memory,
                                            event_type=EventType(event_type) if event_type else None,
                                            aws_credentials=aws_credentials, site_packages=python_site_packages))
    except UserError as exc:
        raise click.UsageError(str(exc)) from None
    for line in [*result.notes, *result.logs]:
        click.echo(line, err=True)
    if result.error is None:
        click.echo(json.dumps(result.result, indent=2))
    else:
        click.echo(f"error: {result.error}", err=True)
    if validate and result.validation_error is not None and result.viewer_status is None:
        click.echo(f"validation: {result.validation_error}", err=True)  # the event, not the handler, stopped it
    elif validate:
        # A handler that failed never reached CloudFront's checks: its 503 is not a validation verdict.
        outcome = ("not reached, the handler failed" if result.error is not None
                   else "ok" if result.validation_error is None else f"failed: {result.validation_error}")
        then = (f"the viewer gets {result.viewer_status}" if result.viewer_status is not None
                else "the request continues")
        if result.x_cache:
            then += f" (X-Cache: {result.x_cache})"
        click.echo(f"validation: {outcome}; {then}", err=True)
    if not result.ok:
        raise SystemExit(1)


def _header_pairs(values: tuple[str, ...], option: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for header in values:
        name, sep, value = header.partition(":")
        if not sep or not name.strip():
            raise click.BadParameter(f"{header!r}: write 'Name: value'", param_hint=option)
        pairs.append((name.strip(), value.strip()))
    return pairs


def _refuse(message: str) -> NoReturn:
    # One line, as test-function says what it cannot run: a usage banner would bury it.
    click.echo(f"error: {message}", err=True)
    raise SystemExit(2)


@main.command("generate-event")
@click.argument("trigger", type=_TRIGGERS)
@click.option("--cloudfront-function", "cff", is_flag=True,
              help="A CloudFront Functions event (viewer triggers only), for test-function. Default: Lambda@Edge.")
@click.option("--uri", default="/", show_default=True)
@click.option("--method", default="GET", show_default=True)
@click.option("--querystring", default="", help="Raw, without '?'.")
@click.option("--header", "headers", multiple=True, metavar="'NAME: VALUE'", help="Repeatable.")
@click.option("--body", default=None, help="Request body (text); included as with include_body. Lambda@Edge only.")
@click.option("--status", type=click.IntRange(200, 599), default=None,
              help="origin-response or viewer-response: the response's status.  [default: 200]")
@click.option("--response-header", "response_headers", multiple=True, metavar="'NAME: VALUE'",
              help="origin-response or viewer-response: a response header (replacing a sample one of its name). "
                   "Repeatable.")
def generate_event(trigger: str, cff: bool, uri: str, method: str, querystring: str, headers: tuple[str, ...],
                   body: str | None, status: int | None, response_headers: tuple[str, ...]) -> None:
    """Print a well-formed Lambda@Edge event for TRIGGER, or with --cloudfront-function a CloudFront Functions one."""
    import json

    from edgesim.messages import EventType

    pairs = _header_pairs(headers, "--header")
    if status is not None or response_headers:
        if cff and trigger != "viewer-response":
            _refuse("--status and --response-header go with viewer-response --cloudfront-function")
    answer = _header_pairs(response_headers, "--response-header")
    if not cff:
        from edgesim.lambda_edge import generate_event as generate
        from edgesim.lambda_edge.generate import left_out as left_out_lambda

        try:
            event = generate(EventType(trigger), uri=uri, method=method, headers=pairs, querystring=querystring,
                             body=body.encode() if body is not None else None,
                             status=status, response_headers=answer)
        except UserError as exc:
            _refuse(str(exc))
        for name in left_out_lambda(pairs + answer):
            click.echo(f"note: {name} is never shown to a Lambda@Edge function "
                       f"({cite('edge-function-restrictions-all')}); left out", err=True)
        if trigger == "viewer-response" and status is not None and status >= 400:
            click.echo(f"note: CloudFront does not run viewer-response when the origin answered {status} "
                       f"(400 or more; {cite('edge-function-restrictions-all')}); invoke runs it anyway", err=True)
        click.echo(json.dumps(event, indent=2))
        return
    from edgesim.cloudfront_functions.generate import generate_event as generate_cff, left_out

    if body is not None:
        _refuse(f"--body: a CloudFront Function never sees the request body ({cite('cloudfront-function-restrictions')})")
    try:
        cff_event = generate_cff(EventType(trigger), uri=uri, method=method, headers=pairs, querystring=querystring,
                                 status=200 if status is None else status, response_headers=answer)
    except UserError as exc:
        _refuse(str(exc))
    for name in left_out(pairs + answer):
        click.echo(f"note: {name} is never shown to a CloudFront Function ({cite('edge-function-restrictions-all')}); "
                   "left out", err=True)
    if status is not None and status >= 400:
        click.echo(f"note: CloudFront does not run viewer-response when the origin answered {status} "
                   f"(400 or more; {cite('edge-function-restrictions-all')}); TestFunction runs it anyway", err=True)
    click.echo(json.dumps(cff_event, indent=2))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
