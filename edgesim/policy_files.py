"""Custom policies fetched apart from the distribution: `edgesim import dist.json --policy FILE`.

`aws cloudfront get-distribution-config` gives a cache behavior's policies by ID only; a custom
(non-managed) policy's settings come from another call. Each `--policy` file is that call's output:
`get-cache-policy` ({"ETag", "CachePolicy": {"Id", "LastModifiedTime", "CachePolicyConfig"}}), or
`list-cache-policies` ({"CachePolicyList": {"Items": [{"Type", "CachePolicy": {...}}]}}), and the
same for origin request policies and response headers policies (CloudFront API: GetCachePolicy,
ListCachePolicies, CachePolicySummary...). A policy alone ({"Id", "CachePolicyConfig"}, what
`--query CachePolicy` prints) and a JSON array of any of these are read too. policy_import.py maps
the configs as it maps a template's own policies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgesim.distribution_source import load_document, text
from edgesim.errors import ConfigError

# kind (as notes say it) -> (the policy's key, the list's key, the config's key, the CLI's noun)
POLICY_KINDS = {
    "cache policy": ("CachePolicy", "CachePolicyList", "CachePolicyConfig", "cache-policy"),
    "origin request policy": ("OriginRequestPolicy", "OriginRequestPolicyList", "OriginRequestPolicyConfig",
                              "origin-request-policy"),
    "response headers policy": ("ResponseHeadersPolicy", "ResponseHeadersPolicyList",
                                "ResponseHeadersPolicyConfig", "response-headers-policy"),
}
_LIST_COMMANDS = {"cache policy": "list-cache-policies", "origin request policy": "list-origin-request-policies",
                  "response headers policy": "list-response-headers-policies"}


def fetch_command(kind: str, policy_id: str | None) -> str:
    """The aws CLI command that writes the policy's file for `--policy` (all custom ones, without an ID)."""
    noun = POLICY_KINDS[kind][3]
    if policy_id is None:
        return f"aws cloudfront {_LIST_COMMANDS[kind]} --type custom > {noun}-list.json"
    return f"aws cloudfront get-{noun} --id {policy_id} > {noun}-{policy_id}.json"


@dataclass(frozen=True)
class FetchedPolicies:
    """The policies read from `--policy` files: kind -> ID -> its *PolicyConfig."""

    configs: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)

    def config(self, kind: str, policy_id: str) -> Mapping[str, Any] | None:
        return self.configs.get(kind, {}).get(policy_id)


def _policies(document: Any) -> list[tuple[str, str, Mapping[str, Any]]] | None:
    """(kind, ID, config) for each policy in one document of a known shape; None for another shape."""
    if isinstance(document, list):
        found = [_policies(part) for part in document]
        return None if any(f is None for f in found) else [p for f in found if f for p in f]
    if not isinstance(document, Mapping):
        return None
    for kind, (policy_key, list_key, config_key, _) in POLICY_KINDS.items():
        if isinstance(document.get(list_key), Mapping):
            summaries = document[list_key].get("Items")
            policies = [s.get(policy_key) for s in summaries if isinstance(s, Mapping)] \
                if isinstance(summaries, list) else []
            return [(kind, str(p["Id"]), p[config_key]) for p in policies
                    if isinstance(p, Mapping) and text(p.get("Id")) and isinstance(p.get(config_key), Mapping)]
        policy = document.get(policy_key, document)
        if isinstance(policy, Mapping) and text(policy.get("Id")) and isinstance(policy.get(config_key), Mapping):
            return [(kind, str(policy["Id"]), policy[config_key])]
    return None


def load_policy_files(paths: Sequence[Path]) -> FetchedPolicies:
    """The policies in `paths`; a ConfigError naming the file that holds none of the shapes."""
    configs: dict[str, dict[str, Mapping[str, Any]]] = {}
    for path in paths:
        document = load_document(path)
        found = _policies(document)
        if found is None:
            config_only = next((kind for kind, keys in POLICY_KINDS.items()
                                if isinstance(document, Mapping) and keys[2] in document), None)
            if config_only is not None:
                # `get-cache-policy-config` output: the settings without the ID behaviors name them by.
                raise ConfigError(f"this {config_only}'s config has no Id to match a behavior's; use the output of "
                                  f"`{fetch_command(config_only, 'ID')}` (get-, not get-...-config)", file=str(path))
            keys = sorted(map(str, document)) if isinstance(document, Mapping) else type(document).__name__
            raise ConfigError("no CloudFront policy found: expected the output of `aws cloudfront get-cache-policy`, "
                              "`get-origin-request-policy`, `get-response-headers-policy` or their `list-...` "
                              f"commands; the file holds {keys}", file=str(path))
        for kind, policy_id, config in found:
            configs.setdefault(kind, {})[policy_id] = config
    return FetchedPolicies(configs)
