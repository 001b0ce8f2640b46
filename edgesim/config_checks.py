"""What is checked once a config has loaded: what CloudFront refuses at deploy time (load_config
raises on it), what is surely a mistake though CloudFront takes it (warned of), and the
Lambda@Edge quotas a handler is held to.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from edgesim.docs_links import cite
from edgesim.function_associations import CloudFrontFunctionAssociation, LambdaFunctionAssociation
from edgesim.messages import EventType
from edgesim.origin_config import S3Origin

if TYPE_CHECKING:  # config.py imports this module, to run the deploy checks at load
    from edgesim.config import DefaultCacheBehavior, DistributionConfig, DistributionSettings


def deploy_problems(config: DistributionConfig) -> list[str]:
    """What CloudFront refuses at deploy time (spec §3.2, §2.7), one message per problem."""
    problems: list[str] = []
    ids = [o.id for o in (*config.origins, *config.origin_groups)]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        problems.append(f"origins: duplicate origin id(s) {dupes}")
    origin_ids = {o.id for o in config.origins}
    group_list = [g.id for g in config.key_groups]
    group_ids = set(group_list)
    if len(group_ids) < len(group_list):
        problems.append(f"key_groups: duplicate key group id(s) {sorted({g for g in group_list if group_list.count(g) > 1})}")
    for i, group in enumerate(config.origin_groups):
        for member in (group.primary, group.secondary):
            if member not in origin_ids:
                problems.append(f"origin_groups[{i}]: unknown origin id {member!r}; known: {sorted(origin_ids)}")
    for where, behavior in _named_behaviors(config):
        if behavior.target_origin not in ids:
            problems.append(f"{where}.target_origin: unknown origin id {behavior.target_origin!r}; known: {sorted(ids)}")
        problems.extend(f"{where}.{p}" for p in _function_problems(behavior, config.distribution))
        problems.extend(f"{where}.trusted_key_groups: unknown key group id {g!r}; known: {sorted(group_ids)}"
                        for g in behavior.trusted_key_groups if g not in group_ids)
    return problems


def config_warnings(config: DistributionConfig) -> list[str]:
    """What CloudFront is not known to refuse but is surely a mistake: a behavior no request can
    reach (`edgesim check` and the `serve` banner print these; loading goes on)."""
    from edgesim.routing import shadowed_behaviors

    where = f"{config.source}: " if config.source else ""
    patterns: list[tuple[str, str]] = [(name, behavior.path_pattern) for name, behavior in _named_behaviors(config)]
    warnings = shadowed_behaviors(patterns)
    # A directory origin's folder may come later (a build's output), so it is no load error; but a
    # misspelt one answered every request with S3's 403 and nothing said why.
    for i, origin in enumerate(config.origins):
        if isinstance(origin, S3Origin) and not origin.directory.is_dir():
            what = "is a file, not a folder" if origin.directory.exists() else "does not exist"
            warnings.append(f"origins[{i}].directory: {origin.directory} {what}: every request to origin "
                            f"{origin.id!r} gets S3's 403 AccessDenied until it is a folder")
    return [where + warning for warning in warnings]


def _named_behaviors(config: DistributionConfig) -> Iterator[tuple[str, DefaultCacheBehavior]]:
    for i, behavior in enumerate(config.cache_behaviors):
        yield f"cache_behaviors[{i}]", behavior
    yield "default_cache_behavior", config.default_cache_behavior


def lambda_limits(event_type: EventType, quotas: str) -> tuple[float, int]:
    """(max timeout s, max memory MB) for a Lambda@Edge trigger (spec §2.7)."""
    if quotas == "per-trigger" and event_type.is_viewer:
        return 5.0, 128
    return 30.0, 10240


FILE_NOT_FOUND = " file not found: "


def missing_file(problem: str) -> str | None:
    """The path a "file not found" problem of _function_problems names, without the hint after it
    (config import tolerates the function files it has yet to write)."""
    if FILE_NOT_FOUND not in problem:
        return None
    named = problem.split(FILE_NOT_FOUND, 1)[1]
    for hint in ("; did you mean ", " (there is no folder "):
        named = named.split(hint, 1)[0]
    return named


def _close_file(path: Path) -> str:
    """"; did you mean <the file of a close name in that folder>?", or that the folder itself is not
    there: a misspelt name (redirect.js for redirects.js) is the commonest missing file."""
    folder = path.parent
    if not folder.is_dir():
        return f" (there is no folder {folder})"
    names = [p.name for p in folder.iterdir() if p.is_file()]
    close = difflib.get_close_matches(path.name, names, n=1, cutoff=0.75)
    return f"; did you mean {folder / close[0]}?" if close else ""


def _function_problems(behavior: DefaultCacheBehavior, settings: DistributionSettings) -> Iterator[str]:
    has_cff = any(a.kind == "cloudfront-function" for a in behavior.functions.values())
    for event_type, assoc in behavior.functions.items():
        field = f"functions.{event_type.value}"
        if assoc.kind == "cloudfront-function":
            assert isinstance(assoc, CloudFrontFunctionAssociation)
            if not event_type.is_viewer:
                yield (f"{field}: a CloudFront Function can only run on viewer-request or viewer-response; "
                       "use a Lambda@Edge function for origin events")
            if not assoc.cloudfront_function.is_file():
                yield f"{field}: function{FILE_NOT_FOUND}{assoc.cloudfront_function}{_close_file(assoc.cloudfront_function)}"
            if assoc.kvs is not None and not assoc.kvs.is_file():
                yield f"{field}.kvs: KeyValueStore{FILE_NOT_FOUND}{assoc.kvs}{_close_file(assoc.kvs)}"
            continue
        assert isinstance(assoc, LambdaFunctionAssociation)
        if event_type.is_viewer and has_cff:
            yield (f"{field}: a behavior with a CloudFront Function cannot also have a Lambda@Edge function "
                   f"on a viewer event ({cite('edge-function-restrictions-all')}); "
                   "move one of them or use an origin event for the Lambda")
        if not assoc.path.is_file():
            yield f"{field}: handler{FILE_NOT_FOUND}{assoc.path}{_close_file(assoc.path)}"
        max_timeout, max_memory = lambda_limits(event_type, settings.lambda_quotas)
        if assoc.timeout is not None and assoc.timeout > max_timeout:
            yield (f"{field}.timeout: {assoc.timeout:g} s is over Lambda@Edge's {max_timeout:g} s for {event_type} "
                   f"({cite('cloudfront-limits')}; distribution.lambda_quotas = {settings.lambda_quotas!r})")
        if assoc.memory is not None and assoc.memory > max_memory:
            yield (f"{field}.memory: {assoc.memory} MB is over Lambda@Edge's {max_memory} MB for {event_type} "
                   f"({cite('cloudfront-limits')}; distribution.lambda_quotas = {settings.lambda_quotas!r})")
        if assoc.include_body and not event_type.is_request:
            yield (f"{field}.include_body: only viewer-request and origin-request can include the body "
                   f"({cite('lambda-include-body-access')})")
