"""The config's JSON Schema, for editors: completion and checks while writing edgesim.toml.

TOML editors that read JSON Schema (Taplo and VS Code's Even Better TOML, JetBrains IDEs) take it
from a `#:schema ./edgesim.schema.json` first line. It is generated from the same pydantic models
that load the config (config.py), so it cannot drift from what edgesim accepts; loading still checks
more than a schema can say (files that must exist, CloudFront's deploy-time rules).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from edgesim.config import DistributionConfig
from edgesim.policies import (
    MANAGED_CACHE_POLICIES,
    MANAGED_ORIGIN_REQUEST_POLICIES,
    MANAGED_RESPONSE_HEADERS_POLICIES,
)

# What the models take before validation and their schema cannot show: a managed policy by name or
# ID where the field's type is the policy itself (config.py's "before" validators), and the
# console's words for a geographic restriction's type.
_MANAGED: dict[str, Sequence[object]] = {
    "cache_policy": MANAGED_CACHE_POLICIES,
    "origin_request_policy": MANAGED_ORIGIN_REQUEST_POLICIES,
    "response_headers_policy": MANAGED_RESPONSE_HEADERS_POLICIES,
}
_GEO_WORDS = ["allowlist", "blocklist"]


_TITLE = "edgesim distribution config (edgesim.toml)"
# The schema's file beside a config that `init` and `import` write, named on the config's first line.
SCHEMA_FILENAME = "edgesim.schema.json"
SCHEMA_LINE = f"#:schema ./{SCHEMA_FILENAME}\n"


def write_schema_beside(config_path: Path) -> bool:
    """Write the schema beside `config_path` unless a file of another kind is there already (it is
    never overwritten; an earlier edgesim schema is renewed). True when the config may name it."""
    target = config_path.parent / SCHEMA_FILENAME
    if target.exists() and not is_edgesim_schema(target):
        return False
    target.write_text(json.dumps(config_schema(), indent=2) + "\n", encoding="utf-8")
    return True


def is_edgesim_schema(path: Path) -> bool:
    """Whether `path` holds a schema `edgesim schema` (or `init`) wrote, safe to replace."""
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(found, dict) and found.get("title") == _TITLE


# What an editor shows on hover, in the README's words ("The config"): the keys a new config is
# written with. A test checks that every entry names a key the schema has.
DESCRIPTIONS: dict[tuple[str, str], str] = {
    ("DistributionConfig", "distribution"): "Distribution-wide settings: ids, the POP, quotas, local-development switches.",
    ("DistributionConfig", "origins"): "Custom origins (`url`) and local folders served as S3 origins (`directory`).",
    ("DistributionConfig", "origin_groups"): "Failover pairs: a primary and a secondary origin.",
    ("DistributionConfig", "default_cache_behavior"): "The behavior for every path no cache behavior matches.",
    ("DistributionConfig", "cache_behaviors"): "Matched in order on the original path; the default behavior last.",
    ("DistributionConfig", "custom_error_responses"): "Error pages and response codes in place of the origin's errors.",
    ("DistributionConfig", "key_groups"): "Public keys that may sign URLs and cookies for `trusted_key_groups`.",
    ("DistributionConfig", "geo_restriction"): "A whitelist or blacklist of the viewer countries the distribution serves.",
    ("DistributionConfig", "viewer"): "The simulated viewer: its address and location, for CloudFront-Viewer-* headers.",
    ("DistributionSettings", "id"): "The distributionId functions see.",
    ("DistributionSettings", "pop"): "X-Amz-Cf-Pop and cf.edgeLocation (name and region).",
    ("DistributionSettings", "lambda_quotas"): '"per-trigger" (5 s / 128 MB on viewer triggers) or "flat" (30 s everywhere).',
    ("DistributionSettings", "enforce_viewer_protocol_policy"):
        "true: plain-http viewers get CloudFront's 301 / 403 instead of being treated as https.",
    ("DistributionSettings", "function_compute_budget_ms"): "What 100% compute utilization means for a CloudFront Function.",
    ("DistributionSettings", "function_time_limit_ms"): "A CloudFront Function running longer is stopped (503).",
    ("DistributionSettings", "lambda_aws_credentials"):
        "true: Lambda@Edge handlers get this shell's AWS credentials (AWS_* variables); false: none at all.",
    ("DistributionSettings", "lambda_python_site_packages"):
        "true: Python Lambda@Edge handlers import any package edgesim's environment has; false: only their folder's, "
        "the standard library and the AWS SDK, as on Lambda@Edge.",
    ("DistributionSettings", "lambda_max_workers"):
        "Lambda@Edge workers per handler at most, each running one request at a time; more requests queue.",
    ("DistributionSettings", "clear_cache_on_reload"): "Empty the edge cache when the config or a function is reloaded.",
    ("DistributionSettings", "request_collapsing"):
        "Simultaneous misses for one cache key share the first one's origin fetch, as on CloudFront.",
    ("DistributionSettings", "cache_memory_limit_mb"):
        "MiB of cached bodies held in memory (LRU); a body over 8 MiB or over this budget is kept in a temp file.",
    ("DistributionSettings", "cache_disk_limit_mb"):
        "MiB of cached bodies kept in temp files (LRU); an object larger than this is served but not cached.",
    ("DistributionSettings", "default_root_object"): "The object served for a request of the root URL, e.g. index.html.",
    ("CustomOrigin", "url"): "Protocol, host, port and origin path, e.g. http://127.0.0.1:3000/v1.",
    ("CustomOrigin", "connect_timeout"): "Seconds per connection attempt, 1-10.",
    ("CustomOrigin", "connection_attempts"): "1-3.",
    ("CustomOrigin", "read_timeout"): "Seconds: the longest wait for the origin's next bytes, 1-120.",
    ("CustomOrigin", "keepalive_timeout"): "Seconds an idle connection to the origin is kept, 1-120.",
    ("S3Origin", "directory"): "A local folder served as S3 serves a bucket without ListBucket (relative to the config).",
    ("DefaultCacheBehavior", "target_origin"): "An origin or an origin group id.",
    ("DefaultCacheBehavior", "cache_policy"): "A managed policy by name or ID, or an inline table.",
    ("DefaultCacheBehavior", "functions"):
        'By event type: { cloudfront_function = "file.js" } (viewer events) or { lambda = "file.py:handler" }.',
    ("DefaultCacheBehavior", "trusted_key_groups"): "Key group ids: only signed URLs or signed cookies are served.",
    ("CacheBehavior", "path_pattern"): "CloudFront's pattern: * crosses /, ? is one character, case-sensitive.",
    ("GeoRestriction", "restriction_type"): '"whitelist" (only these countries) or "blacklist" (not these), or "none".',
    ("GeoRestriction", "locations"): "ISO 3166-1 alpha-2 country codes, e.g. [\"US\", \"CA\"].",
    ("ViewerProfile", "country"): "Two-letter country code; X-Edgesim-Viewer-Country places one request elsewhere.",
    ("LambdaFunctionAssociation", "include_body"): "The function sees the request body (40 KB viewer, 1 MB origin).",
}


def _describe(schema: dict[str, Any]) -> None:
    for (model, field), text in DESCRIPTIONS.items():
        table = schema if model == "DistributionConfig" else schema["$defs"][model]
        table["properties"][field]["description"] = text


def config_schema() -> dict[str, Any]:
    schema = DistributionConfig.model_json_schema(mode="validation")
    schema["properties"].pop("source", None)  # where the config came from: set by edgesim, not written
    schema["title"] = _TITLE
    schema["description"] = ("A CloudFront distribution for edgesim, in snake_case TOML; see the README's "
                             "'The config'. Generated by `edgesim schema`.")
    defs = schema["$defs"]
    for behavior in ("DefaultCacheBehavior", "CacheBehavior"):
        properties = defs[behavior]["properties"]
        for field, managed in _MANAGED.items():
            names = [str(getattr(policy, "name")) for policy in managed]
            ids = [str(getattr(policy, "id")) for policy in managed]
            # CloudFront's own names carry a "Managed-" prefix (policies.py takes both).
            keys = sorted({*names, *(f"Managed-{name}" for name in names), *ids})
            by_name = {"type": "string", "enum": keys, "description": "a managed policy, by name or ID"}
            properties[field] = {"anyOf": [by_name, properties[field]]}
    geo = defs["GeoRestriction"]["properties"]
    geo["restriction_type"]["enum"] = [*geo["restriction_type"]["enum"], *_GEO_WORDS]
    # Country codes as config.country_code_problem checks them, less "UK" (no look-ahead: Taplo's
    # regex engine has none); "" is a viewer CloudFront cannot locate.
    geo["locations"]["items"] = {"type": "string", "pattern": "^[A-Za-z]{2}$",
                                 "description": "ISO 3166-1 alpha-2 (the United Kingdom is GB)"}
    defs["ViewerProfile"]["properties"]["country"]["pattern"] = "^([A-Za-z]{2})?$"
    _describe(schema)
    return schema


def schema_line_warning(config_path: Path) -> str | None:
    """What is wrong with the schema a config's `#:schema` first line names, for `edgesim check`:
    a file that is not there, or one an older (or newer) edgesim wrote, which makes editors flag keys
    this edgesim takes (a project `edgesim init` made before `request_collapsing` existed). None
    when it is current, when the line names a URL or someone else's schema, or when there is none."""
    try:
        with config_path.open(encoding="utf-8") as file:
            first = file.readline().strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not first.startswith("#:schema "):
        return None
    named = first.removeprefix("#:schema ").strip()
    if "://" in named:
        return None
    schema_path = config_path.parent / named
    renew = f"`edgesim schema -o {schema_path}` writes it"
    if not schema_path.exists():
        return f"{config_path}: line 1 names the schema {named}, which does not exist: {renew}"
    if not is_edgesim_schema(schema_path):
        return None
    if json.loads(schema_path.read_text(encoding="utf-8")) != json.loads(json.dumps(config_schema())):
        return (f"{schema_path}: the schema is not this edgesim's, so editors may flag keys it takes or miss "
                f"mistakes: {renew} anew")
    return None
