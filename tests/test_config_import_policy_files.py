"""`edgesim import dist.json --policy FILE`: custom policies, which `get-distribution-config` names by
ID only, resolved from the AWS CLI's `get-cache-policy`, `get-origin-request-policy`,
`get-response-headers-policy` and `list-...` output (shapes from the CloudFront API reference:
GetCachePolicy, ListOriginRequestPolicies, OriginRequestPolicySummary, GetResponseHeadersPolicy).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from edgesim.cli import main
from edgesim.config import load_config
from edgesim.config_import import import_file
from edgesim.errors import ConfigError

CACHE_ID = "4a1b2c3d-1111-4e5f-8a9b-0c1d2e3f4a5b"
FORWARD_ID = "5b2c3d4e-2222-4f6a-9b0c-1d2e3f4a5b6c"
HEADERS_ID = "6c3d4e5f-3333-4a7b-8c1d-2e3f4a5b6c7d"
OTHER_ID = "7d4e5f6a-4444-4b8c-9d2e-3f4a5b6c7d8e"

DISTRIBUTION = {"ETag": "E2QWRUHEXAMPLE", "DistributionConfig": {
    "CallerReference": "site-2024", "Comment": "", "Enabled": True,
    "Origins": {"Quantity": 1, "Items": [{
        "Id": "api", "DomainName": "api.example.com", "OriginPath": "",
        "CustomHeaders": {"Quantity": 0},
        "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}}]},
    "DefaultCacheBehavior": {
        "TargetOriginId": "api", "ViewerProtocolPolicy": "redirect-to-https",
        "CachePolicyId": CACHE_ID, "OriginRequestPolicyId": FORWARD_ID, "ResponseHeadersPolicyId": HEADERS_ID},
    "CacheBehaviors": {"Quantity": 1, "Items": [{
        "PathPattern": "/other/*", "TargetOriginId": "api", "ViewerProtocolPolicy": "allow-all",
        "CachePolicyId": OTHER_ID}]}}}

GET_CACHE_POLICY = {"ETag": "E1EXAMPLE", "CachePolicy": {
    "Id": CACHE_ID, "LastModifiedTime": "2024-05-01T10:00:00+00:00",
    "CachePolicyConfig": {
        "Comment": "", "Name": "api-cache", "DefaultTTL": 60, "MaxTTL": 600, "MinTTL": 1,
        "ParametersInCacheKeyAndForwardedToOrigin": {
            "EnableAcceptEncodingGzip": True, "EnableAcceptEncodingBrotli": True,
            "HeadersConfig": {"HeaderBehavior": "whitelist", "Headers": {"Quantity": 1, "Items": ["Accept-Language"]}},
            "CookiesConfig": {"CookieBehavior": "none"},
            "QueryStringsConfig": {"QueryStringBehavior": "whitelist",
                                   "QueryStrings": {"Quantity": 2, "Items": ["page", "q"]}}}}}}

LIST_ORIGIN_REQUEST_POLICIES = {"OriginRequestPolicyList": {"MaxItems": 100, "Quantity": 2, "Items": [
    {"Type": "managed", "OriginRequestPolicy": {
        "Id": "216adef6-5c7f-47e4-b989-5492eafa07d3", "LastModifiedTime": "2020-10-01T00:00:00+00:00",
        "OriginRequestPolicyConfig": {"Name": "Managed-AllViewer", "HeadersConfig": {"HeaderBehavior": "allViewer"},
                                      "CookiesConfig": {"CookieBehavior": "all"},
                                      "QueryStringsConfig": {"QueryStringBehavior": "all"}}}},
    {"Type": "custom", "OriginRequestPolicy": {
        "Id": FORWARD_ID, "LastModifiedTime": "2024-05-01T10:00:00+00:00",
        "OriginRequestPolicyConfig": {
            "Comment": "", "Name": "api-forward",
            "HeadersConfig": {"HeaderBehavior": "whitelist", "Headers": {"Quantity": 1, "Items": ["X-Api-Key"]}},
            "CookiesConfig": {"CookieBehavior": "whitelist", "Cookies": {"Quantity": 1, "Items": ["session"]}},
            "QueryStringsConfig": {"QueryStringBehavior": "all"}}}}]}}

GET_RESPONSE_HEADERS_POLICY = {"ETag": "E3EXAMPLE", "ResponseHeadersPolicy": {
    "Id": HEADERS_ID, "LastModifiedTime": "2024-05-01T10:00:00+00:00",
    "ResponseHeadersPolicyConfig": {
        "Name": "api-headers", "Comment": "",
        "CustomHeadersConfig": {"Quantity": 1, "Items": [{"Header": "X-Served-By", "Value": "edge", "Override": True}]},
        "RemoveHeadersConfig": {"Quantity": 1, "Items": [{"Header": "X-Powered-By"}]}}}}


def _files(folder: Path) -> list[Path]:
    paths = []
    for name, content in (("cache-policy.json", GET_CACHE_POLICY), ("origin-request-policies.json",
                          LIST_ORIGIN_REQUEST_POLICIES), ("response-headers-policy.json", GET_RESPONSE_HEADERS_POLICY)):
        (folder / name).write_text(json.dumps(content, indent=4))
        paths.append(folder / name)
    return paths


def test_policy_files_resolve_the_custom_policies_the_distribution_names_by_id(tmp_path: Path) -> None:
    source = tmp_path / "dist.json"
    source.write_text(json.dumps(DISTRIBUTION))
    output = tmp_path / "edgesim.toml"
    result = import_file(source, output=output, functions_dir=tmp_path / "functions", policy_files=_files(tmp_path))
    output.write_text(result.toml)
    default = load_config(output).default_cache_behavior
    cache = default.cache_policy
    assert (cache.name, cache.min_ttl, cache.default_ttl, cache.max_ttl) == ("api-cache", 1, 60, 600)
    assert cache.headers.items == ("Accept-Language",) and cache.query_strings.items == ("page", "q")
    assert cache.enable_accept_encoding_gzip and cache.enable_accept_encoding_brotli
    forward = default.origin_request_policy
    assert forward is not None and (forward.name, forward.header_behavior, forward.headers) == \
        ("api-forward", "whitelist", ("X-Api-Key",))
    assert forward.cookies.behavior == "whitelist" and forward.cookies.items == ("session",)
    headers = default.response_headers_policy
    assert headers is not None and headers.name == "api-headers"
    assert [(h.header, h.value, h.override) for h in headers.custom_headers] == [("X-Served-By", "edge", True)]
    assert headers.remove_headers == ("X-Powered-By",)
    # a policy no file gives keeps its placeholder, and the note names the command that fetches it
    assert f"PLACEHOLDER for cache policy {OTHER_ID}" in result.toml
    note, = [n for n in result.notes if OTHER_ID in n]
    assert f"run `aws cloudfront get-cache-policy --id {OTHER_ID} > cache-policy-{OTHER_ID}.json` and import " \
           f"again with `--policy cache-policy-{OTHER_ID}.json`" in note
    assert not [n for n in result.notes if CACHE_ID in n or FORWARD_ID in n or HEADERS_ID in n]


def test_without_policy_files_each_custom_policy_note_names_its_aws_command(tmp_path: Path) -> None:
    source = tmp_path / "dist.json"
    source.write_text(json.dumps(DISTRIBUTION))
    result = import_file(source, output=tmp_path / "edgesim.toml", functions_dir=tmp_path / "functions")
    notes = "\n".join(result.notes)
    for noun, policy_id in (("cache-policy", CACHE_ID), ("origin-request-policy", FORWARD_ID),
                            ("response-headers-policy", HEADERS_ID)):
        assert f"`aws cloudfront get-{noun} --id {policy_id} > {noun}-{policy_id}.json`" in notes


def test_the_command_takes_repeated_policy_options(tmp_path: Path) -> None:
    source = tmp_path / "dist.json"
    source.write_text(json.dumps(DISTRIBUTION))
    output = tmp_path / "edgesim.toml"
    args = ["import", str(source), "-o", str(output)]
    for path in _files(tmp_path):
        args += ["--policy", str(path)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert load_config(output).default_cache_behavior.cache_policy.name == "api-cache"


@pytest.mark.parametrize(("content", "message"), [
    ({"ETag": "E1", "CachePolicyConfig": GET_CACHE_POLICY["CachePolicy"]["CachePolicyConfig"]},  # type: ignore[index]
     "this cache policy's config has no Id to match a behavior's; use the output of "
     "`aws cloudfront get-cache-policy --id ID > cache-policy-ID.json`"),
    ({"DistributionConfig": {}}, "no CloudFront policy found: expected the output of `aws cloudfront "
                                 "get-cache-policy`"),
])
def test_a_policy_file_of_another_shape_is_an_error_naming_it(tmp_path: Path, content: object, message: str) -> None:
    source = tmp_path / "dist.json"
    source.write_text(json.dumps(DISTRIBUTION))
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(content))
    with pytest.raises(ConfigError) as caught:
        import_file(source, output=tmp_path / "edgesim.toml", functions_dir=tmp_path, policy_files=[policy])
    assert str(policy) in str(caught.value) and message in str(caught.value)
