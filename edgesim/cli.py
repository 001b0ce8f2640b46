"""click: the `edgesim` command. Each command is a few lines over a public function."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from edgesim.config import find_config, load_config
from edgesim.errors import ConfigError, UserError


def _load(config_path: Path | None):  # type: ignore[no-untyped-def]
    path = find_config(config_path)
    try:
        return load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        raise SystemExit(1) from None


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
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--no-reload", is_flag=True, help="Do not watch the config and function files.")
@click.option("--no-cache", is_flag=True, help="Turn the edge cache off: every request goes to the origin.")
def serve(config_path: Path | None, host: str, port: int, log_format: str, no_reload: bool, no_cache: bool) -> None:
    """Serve a distribution as a local reverse proxy."""
    from edgesim.request_log import printer
    from edgesim.server import serve as run_server
    from edgesim.simulator import Simulator

    config = _load(config_path)
    simulator = Simulator(config, cache=not no_cache)
    try:
        asyncio.run(run_server(simulator, host, port, on_trace=printer(log_format), reload=not no_reload))
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
    config = _load(config_path)
    problems = check_functions(config)
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
    if problems:
        raise SystemExit(1)
    count = sum(1 for _ in config.function_associations())
    click.echo(f"ok: {path}: {len(config.cache_behaviors) + 1} behaviors, {len(config.origins)} origins, "
               f"{count} function associations")


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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
