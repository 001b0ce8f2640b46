"""pydantic's validation errors as config problems in the user's terms: a location as written in the
TOML, a message naming the rule, and for a misspelt key the key that was probably meant.

pydantic says only that a key is "not permitted". The table it was refused from is found by walking
the error's location (field names, list indexes, union tags) down the models' annotations, so the
suggestion comes from the keys that very table takes (difflib's close matches).
"""

from __future__ import annotations

import difflib
import functools
import json
import re
import types
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from edgesim.docs_links import cite

UNKNOWN_KEY = "unknown key (check its spelling; edgesim refuses keys it does not know)"


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """The choice closest to `word`, when one is close enough to be a misspelling of it."""
    match = difflib.get_close_matches(word, sorted(set(choices)), n=1)
    return match[0] if match else None


def model_keys(model: type[BaseModel]) -> list[str]:
    """The keys a table of this model takes: each field's name and its alias (`lambda`)."""
    keys: list[str] = []
    for name, field in model.model_fields.items():
        if field.exclude:  # set by edgesim (DistributionConfig.source), never written by the user
            continue
        keys.append(name)
        if field.alias:
            keys.append(field.alias)
    return keys


def _members(tp: Any) -> list[Any]:
    """The types a value of `tp` may be: Annotated unwrapped, a union's members, None left out."""
    if get_origin(tp) is Annotated:
        return _members(get_args(tp)[0])
    if get_origin(tp) in (Union, types.UnionType):
        return [m for arg in get_args(tp) for m in _members(arg) if m is not type(None)]
    return [tp]


def _step(tp: Any, part: str | int) -> Any:
    """The type one step of a pydantic location further down from `tp`; None when it cannot tell."""
    members = _members(tp)
    for member in members:  # a union's tag names its member (config's tags are the classes' names)
        if isinstance(part, str) and isinstance(member, type) and member.__name__ == part:
            return member
    for member in members:
        if isinstance(member, type) and issubclass(member, BaseModel) and isinstance(part, str):
            for name, field in member.model_fields.items():
                if part in (name, field.alias):
                    return field.annotation
        origin = get_origin(member)
        if origin in (tuple, list) and isinstance(part, int):
            return get_args(member)[0]
        if origin is dict and isinstance(part, str):
            return get_args(member)[1]
    return None


def keys_at(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """The keys the table at `loc` takes ([] when the location leads to no model)."""
    tp: Any = model
    for part in loc:
        tp = _step(tp, part)
        if tp is None:
            return []
    tables = [m for m in _members(tp) if isinstance(m, type) and issubclass(m, BaseModel)]
    return [key for table in tables for key in model_keys(table)]


# CloudFront's own names (its API's and CloudFormation's, in snake_case) for what edgesim's config
# says otherwise: (the key edgesim's table takes instead, how to write it there). A hint is given only
# where that table has the key, so `min_ttl` is pointed to the cache policy on a behavior alone.
_CLOUDFRONT_NAMES: dict[str, tuple[str, str]] = {
    "function_associations": ("functions", 'functions.viewer-request = { cloudfront_function = "file.js" }'),
    "lambda_function_associations": ("functions", 'functions.origin-request = { lambda = "file.py:handler" }'),
    "cache_policy_id": ("cache_policy", 'cache_policy = "<managed policy name or ID>" or an inline table'),
    "origin_request_policy_id": ("origin_request_policy", 'origin_request_policy = "<managed name or ID>"'),
    "response_headers_policy_id": ("response_headers_policy", 'response_headers_policy = "<managed name or ID>"'),
    "target_origin_id": ("target_origin", 'target_origin = "<origin id>"'),
    "forwarded_values": ("cache_policy", "an inline cache_policy = { query_strings = ..., headers = ..., cookies = ... }"),
    "min_ttl": ("cache_policy", "cache_policy = { min_ttl = 0, default_ttl = 86400, max_ttl = 31536000 }"),
    "default_ttl": ("cache_policy", "cache_policy = { min_ttl = 0, default_ttl = 86400, max_ttl = 31536000 }"),
    "max_ttl": ("cache_policy", "cache_policy = { min_ttl = 0, default_ttl = 86400, max_ttl = 31536000 }"),
    "custom_origin_config": ("url", 'url = "http://127.0.0.1:3000" (protocol, host, port and origin path in one)'),
    "origin_path": ("url", 'the path at the end of url, e.g. url = "http://127.0.0.1:3000/v1"'),
    "restrictions": ("geo_restriction", '[geo_restriction] restriction_type = "whitelist", locations = ["US"]'),
    "items": ("locations", 'locations = ["US", "CA"]'),
    "quantity": ("locations", 'locations = ["US", "CA"] alone (edgesim counts them)'),
}


# Lambda features Lambda@Edge does not support (spec §2.1, DG/lambda-at-edge-function-restrictions),
# as a user writes them on a `lambda = ...` association: its key is spelled right, the feature is
# what is missing, so "check its spelling" would mislead.
_LAMBDA_EDGE_UNSUPPORTED: dict[str, str] = {
    "environment": "environment variables; put the values in the code or a file deployed with it",
    "environment_variables": "environment variables; put the values in the code or a file deployed with it",
    "env": "environment variables; put the values in the code or a file deployed with it",
    "layers": "layers; deploy the dependencies in the function's own package",
    "vpc_config": "VPC access",
    "vpc": "VPC access",
    "architecture": "arm64: its functions run on x86_64 only",
    "architectures": "arm64: its functions run on x86_64 only",
    "dead_letter_config": "dead-letter queues",
    "tracing_config": "X-Ray tracing",
    "tracing": "X-Ray tracing",
}


def snake_case(key: str) -> str:
    """CloudFront's JSON / CloudFormation key in edgesim's words: `TargetOriginId` -> `target_origin_id`,
    `DefaultTTL` -> `default_ttl`."""
    key = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", key)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", key).lower()


@functools.lru_cache(maxsize=4)
def _homes(model: type[BaseModel]) -> dict[str, tuple[str, ...]]:
    """Each key of the config's tables -> the tables that take it, as the TOML heads them
    (`[distribution]`, `[[origins]]`)."""
    homes: dict[str, tuple[str, ...]] = {}
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        keys, head = keys_at(model, (name,)), f"[{name}]"
        if not keys:  # a list of tables
            keys, head = keys_at(model, (name, 0)), f"[[{name}]]"
        for key in dict.fromkeys(keys):
            homes[key] = (*homes.get(key, ()), head)
    return homes


def unknown_key_message(model: type[BaseModel], loc: Sequence[str | int]) -> str:
    """What to say about the unknown key at the end of `loc`."""
    keys = keys_at(model, loc[:-1])
    written = str(loc[-1])
    snake = snake_case(written)  # a key copied from CloudFront's JSON is in PascalCase
    cloudfront = _CLOUDFRONT_NAMES.get(snake)
    if cloudfront is not None and cloudfront[0] in keys:
        return f"unknown key; CloudFront's {written} is written here as {cloudfront[1]} (see the README's config)"
    unsupported = _LAMBDA_EDGE_UNSUPPORTED.get(snake)
    if unsupported is not None and "lambda" in keys:
        return f"Lambda@Edge does not support {unsupported} ({cite('lambda-at-edge-function-restrictions')})"
    if snake != written and snake in keys:
        return f"unknown key; edgesim's keys are snake_case: write {snake!r}"
    # A key of another table, written in this one (`request_collapsing` in a behavior, a table's
    # key above every table): where it goes.
    homes = [head for head in _homes(model).get(snake, ()) if not loc[:-1] or head.strip("[]") != loc[0]]
    if homes:
        return f"unknown key here; {snake} goes under {' or '.join(homes)}"
    meant = did_you_mean(snake, keys)
    return f"unknown key; did you mean {meant!r}?" if meant else UNKNOWN_KEY


def _kind_message(err: dict[str, Any], wanted: Sequence[str]) -> str:
    """A table that names none of the keys that say what it is (`cloudfront_function` or `lambda`):
    name the key the user wrote when it is a misspelling of one of them."""
    msg = str(err["msg"])
    given = err.get("input")
    if isinstance(given, str) and "lambda" in wanted:
        # `functions.viewer-request = "file.js"`: the file alone, where a table says which kind it is.
        # A .js file on a viewer event is most often a CloudFront Function; origin events take only Lambda@Edge.
        viewer = str(err["loc"][-1]).startswith("viewer") if err.get("loc") else True
        key = "cloudfront_function" if viewer and given.endswith(".js") and ":" not in given else "lambda"
        return f"{msg}; write {{ {key} = {json.dumps(given)} }}"
    if not isinstance(given, dict):
        return msg
    present = [key for key in wanted if key in given]
    if len(present) > 1:
        return f"{msg}: one of them, not {' and '.join(f'`{key}`' for key in present)}"
    hints = [f"`{key}` is not a key it takes: did you mean `{meant}`?" for key in given
             if isinstance(key, str) and (meant := did_you_mean(key, wanted))]
    if hints:
        return f"{msg}; {' '.join(hints)}"
    return f"{msg}; it has {', '.join(f'`{key}`' for key in given)}" if given else msg


# Tables that must name one key to say what they are (config's discriminated unions).
_KIND_KEYS = {"function_kind": ("cloudfront_function", "lambda", "handler"), "origin_kind": ("url", "directory")}


def message(err: dict[str, Any], model: type[BaseModel]) -> str:
    """One pydantic error's message in the user's terms."""
    if err["type"] == "extra_forbidden":
        return unknown_key_message(model, err["loc"])
    if err["type"] == "missing":
        return "required field is missing"
    if err["type"] in _KIND_KEYS:
        return _kind_message(err, _KIND_KEYS[err["type"]])
    msg = str(err["msg"]).removeprefix("Value error, ")
    given = err.get("input")
    if err["type"] in ("enum", "literal_error") and isinstance(given, str):
        # A value (or a dict key: a trigger name, `viewer_request`) out of a fixed set: the member
        # probably meant, the same in another case first (`Whitelist`, `Redirect-To-HTTPS`).
        choices = re.findall(r"'([^']*)'", str((err.get("ctx") or {}).get("expected", "")))
        meant = next((c for c in choices if c.lower() == given.lower()), None) or did_you_mean(given, choices)
        if meant:
            msg += f"; did you mean {meant!r}?"
    if err["type"] in ("tuple_type", "list_type") and isinstance(given, (str, int, float)):
        # TOML's list: one value alone is the common slip (`locations = "US"`).
        msg = f"should be a list; write [{json.dumps(given)}]"
    if err["type"] in ("tuple_type", "list_type") and isinstance(given, dict) and len(err["loc"]) == 1:
        # `[origins]` for `[[origins]]`: TOML's single brackets make one table, not a list of them.
        name = err["loc"][0]
        msg = f"should be a list of tables; head each one [[{name}]] (two brackets), not [{name}]"
    if err["type"] in ("model_type", "dict_type") and isinstance(given, list) and len(err["loc"]) == 1:
        # And the reverse, `[[default_cache_behavior]]`: pydantic names the model class, not the table.
        name = err["loc"][0]
        msg = f"should be one table; head it [{name}] (one bracket), not [[{name}]]"
    return msg


def explain(errors: list[dict[str, Any]], model: type[BaseModel]) -> list[tuple[tuple[str | int, ...], str]]:
    """(location, message) for each error worth telling, in pydantic's order."""
    # A list whose only item failed is also "too short" after validation: noise beside the item's problem.
    errors = [err for err in errors if err["type"] != "too_short" or not any(
        len(other["loc"]) > len(err["loc"]) and other["loc"][:len(err["loc"])] == err["loc"] for other in errors)]
    # `[[origin]]` for `[[origins]]` is one mistake, not a missing field and an unknown key: the
    # unknown key says which required field it probably is, and the missing one is not told apart.
    missing = {tuple(err["loc"]) for err in errors if err["type"] == "missing"}
    meant_for: dict[tuple[str | int, ...], str] = {}
    for err in errors:
        loc = tuple(err["loc"])
        if err["type"] == "extra_forbidden":
            siblings = [loc[:-1] + (key,) for key in keys_at(model, loc[:-1])]
            absent = [str(s[-1]) for s in siblings if s in missing]
            snake = snake_case(str(loc[-1]))
            cloudfront = _CLOUDFRONT_NAMES.get(snake, ("",))[0]
            meant = cloudfront if cloudfront in absent else did_you_mean(snake, absent)
            if meant is not None:
                meant_for[loc] = meant
    covered = {loc[:-1] + (meant,) for loc, meant in meant_for.items()}
    out: list[tuple[tuple[str | int, ...], str]] = []
    for err in errors:
        loc = tuple(err["loc"])
        if err["type"] == "missing" and loc in covered:
            continue
        if loc in meant_for:
            said = unknown_key_message(model, loc)  # CloudFront's name or PascalCase, said as such
            said = said if "did you mean" not in said else f"unknown key; did you mean {meant_for[loc]!r}?"
            out.append((loc, f"{said} (that field is required and missing)"))
        else:
            out.append((loc, message(err, model)))
    return out
