"""The edgesim distributions the benchmark serves, written as TOML into a temp directory.

Every one has a single custom origin pointing at the fast origin. Each is validated with
`edgesim.config.load_config` right after writing, so a mistake here fails before any load runs.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

FUNCTIONS = Path(__file__).resolve().parent / "functions"

# (event type, file in benchmarks/functions, runtime); ":handler" is added for Lambda@Edge.
CFF_BOTH_VIEWER = [("viewer-request", "viewer_request.js", "cloudfront-js-2.0"),
                   ("viewer-response", "viewer_response.js", "cloudfront-js-2.0")]
LAMBDA_PYTHON = [("origin-request", "origin_request.py", "python3.12"),
                 ("origin-response", "origin_response.py", "python3.12")]
LAMBDA_NODE = [("origin-request", "origin_request.js", "nodejs20.x"),
               ("origin-response", "origin_response.js", "nodejs20.x")]
# One Node handler on one trigger: the same file and trigger serverless-offline-edge-lambda runs in
# the reference stack (benchmarks/sls_reference.py), so the two compare like for like.
LAMBDA_NODE_ONE = [("origin-response", "origin_response.js", "nodejs20.x")]

# name -> (cache policy, functions on the default behavior)
SCENARIOS: dict[str, tuple[str, list[tuple[str, str, str]]]] = {
    "passthrough": ("CachingDisabled", []),
    "cff": ("CachingDisabled", CFF_BOTH_VIEWER),
    "lambda_python": ("CachingDisabled", LAMBDA_PYTHON),
    "lambda_node": ("CachingDisabled", LAMBDA_NODE),
    "lambda_node_one": ("CachingDisabled", LAMBDA_NODE_ONE),
    "cache_hits": ("CachingOptimized", []),
}

MEMORY_BEHAVIORS = 5  # five behaviors x two viewer triggers = ten CloudFront Functions


def _q(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def _association(path: Path, runtime: str) -> str:
    if runtime.startswith("cloudfront-js"):
        return f"{{ cloudfront_function = {_q(str(path))}, runtime = {_q(runtime)} }}"
    return f"{{ lambda = {_q(f'{path}:handler')}, runtime = {_q(runtime)} }}"


def _behavior(header: str, cache_policy: str, functions: list[tuple[str, Path, str]],
              path_pattern: str | None = None) -> list[str]:
    lines = [header]
    if path_pattern is not None:
        lines.append(f"path_pattern = {_q(path_pattern)}")
    lines += ['target_origin = "fast"', f"cache_policy = {_q(cache_policy)}"]
    lines += [f"functions.{event} = {_association(path, runtime)}" for event, path, runtime in functions]
    return lines + [""]


def _head(origin_url: str) -> list[str]:
    return ["# Written by benchmarks/edgesim_configs.py", "[[origins]]", 'id = "fast"', f"url = {_q(origin_url)}", ""]


def _validate(path: Path) -> Path:
    from edgesim.config import load_config  # loads no runtime; raises ConfigError naming the field

    load_config(path)
    return path


def write_scenario(directory: Path, name: str, origin_url: str) -> Path:
    """One distribution: the default behavior with the scenario's cache policy and functions."""
    cache_policy, functions = SCENARIOS[name]
    resolved = [(event, FUNCTIONS / file, runtime) for event, file, runtime in functions]
    text = _head(origin_url) + _behavior("[default_cache_behavior]", cache_policy, resolved)
    path = directory / f"{name}.toml"
    path.write_text("\n".join(text), encoding="utf-8")
    return _validate(path)


def write_memory_scenario(directory: Path, origin_url: str) -> tuple[Path, list[str]]:
    """Ten distinct CloudFront Functions and four Lambda@Edge functions (two Python, two Node).

    Behaviors /m0/* .. /m4/* each carry their own copy of both viewer functions; /m0/* also has the
    Python origin triggers and /m1/* the Node ones. Returns the config and one path per behavior,
    to warm every function before the memory is read.
    """
    copies = directory / "memory-functions"
    copies.mkdir(exist_ok=True)
    text = _head(origin_url)
    paths = []
    for i in range(MEMORY_BEHAVIORS):
        functions = []
        for event, file, runtime in CFF_BOTH_VIEWER:
            copy = copies / f"m{i}_{file}"  # distinct files, so ten functions, not one shared twice
            shutil.copyfile(FUNCTIONS / file, copy)
            functions.append((event, copy, runtime))
        lambdas = {0: LAMBDA_PYTHON, 1: LAMBDA_NODE}.get(i, [])
        functions += [(event, FUNCTIONS / file, runtime) for event, file, runtime in lambdas]
        text += _behavior("[[cache_behaviors]]", "CachingDisabled", functions, f"/m{i}/*")
        paths.append(f"/m{i}/index.html")
    text += _behavior("[default_cache_behavior]", "CachingDisabled", [])
    path = directory / "memory.toml"
    path.write_text("\n".join(text), encoding="utf-8")
    return _validate(path), paths
