"""Import a cache behavior's policies: managed ones by name, a template's own ones inline, and the
legacy ForwardedValues with MinTTL / DefaultTTL / MaxTTL as the inline cache policy that equals them.

Each function returns the value for edgesim's config (a managed policy's name, an inline table, or a
marked placeholder) and adds a note for whatever it could not carry over. The policy shapes are
CloudFront's CachePolicyConfig, OriginRequestPolicyConfig and ResponseHeadersPolicyConfig, in
either the API's or CloudFormation's form (distribution_source's readers take both).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from edgesim.distribution_source import Source, describe, flag, items, number, text
from edgesim.policy_files import POLICY_KINDS, FetchedPolicies, fetch_command
from edgesim.policies import managed_cache_policy, managed_origin_request_policy, managed_response_headers_policy
from edgesim.toml_writer import Remark, TomlValue

CACHE_POLICY = "AWS::CloudFront::CachePolicy"
ORIGIN_REQUEST_POLICY = "AWS::CloudFront::OriginRequestPolicy"
RESPONSE_HEADERS_POLICY = "AWS::CloudFront::ResponseHeadersPolicy"


def _key_items(config: Any, behavior_key: str, list_key: str) -> dict[str, TomlValue]:
    """A {behavior, items} table from a HeadersConfig / CookiesConfig / QueryStringsConfig."""
    config = config if isinstance(config, Mapping) else {}
    out: dict[str, TomlValue] = {"behavior": text(config.get(behavior_key)) or "none"}
    names = [n for n in (text(i) for i in items(config.get(list_key))) if n is not None]
    if names and out["behavior"] in ("whitelist", "allExcept"):
        out["items"] = names
    return out


def inline_cache_policy(config: Mapping[str, Any]) -> dict[str, TomlValue]:
    """CachePolicyConfig -> edgesim's inline cache policy table."""
    out: dict[str, TomlValue] = {}
    if (name := text(config.get("Name"))) is not None:
        out["name"] = name
    for ours, theirs in (("min_ttl", "MinTTL"), ("default_ttl", "DefaultTTL"), ("max_ttl", "MaxTTL")):
        if (value := number(config.get(theirs))) is not None:
            out[ours] = value
    params = config.get("ParametersInCacheKeyAndForwardedToOrigin")
    params = params if isinstance(params, Mapping) else {}
    for ours, config_key, behavior_key, list_key in (("headers", "HeadersConfig", "HeaderBehavior", "Headers"),
                                                     ("cookies", "CookiesConfig", "CookieBehavior", "Cookies"),
                                                     ("query_strings", "QueryStringsConfig", "QueryStringBehavior",
                                                      "QueryStrings")):
        selection = _key_items(params.get(config_key), behavior_key, list_key)
        if selection["behavior"] != "none":
            out[ours] = selection
    for ours, theirs in (("enable_accept_encoding_gzip", "EnableAcceptEncodingGzip"),
                         ("enable_accept_encoding_brotli", "EnableAcceptEncodingBrotli")):
        if flag(params.get(theirs)):
            out[ours] = True
    return out


def inline_origin_request_policy(config: Mapping[str, Any]) -> dict[str, TomlValue]:
    """OriginRequestPolicyConfig -> edgesim's inline origin request policy table."""
    out: dict[str, TomlValue] = {}
    if (name := text(config.get("Name"))) is not None:
        out["name"] = name
    headers = _key_items(config.get("HeadersConfig"), "HeaderBehavior", "Headers")
    out["header_behavior"] = headers["behavior"]
    if "items" in headers:
        out["headers"] = headers["items"]
    for ours, config_key, behavior_key, list_key in (("cookies", "CookiesConfig", "CookieBehavior", "Cookies"),
                                                     ("query_strings", "QueryStringsConfig", "QueryStringBehavior",
                                                      "QueryStrings")):
        selection = _key_items(config.get(config_key), behavior_key, list_key)
        if selection["behavior"] != "none":
            out[ours] = selection
    return out


def _texts(value: Any) -> list[str]:
    return [t for t in (text(i) for i in items(value)) if t is not None]


def inline_response_headers_policy(config: Mapping[str, Any], where: str, notes: list[str]) -> dict[str, TomlValue]:
    """ResponseHeadersPolicyConfig -> edgesim's inline response headers policy table."""
    out: dict[str, TomlValue] = {}
    if (name := text(config.get("Name"))) is not None:
        out["name"] = name
    cors = config.get("CorsConfig")
    if isinstance(cors, Mapping):
        table: dict[str, TomlValue] = {
            "allow_origins": _texts(cors.get("AccessControlAllowOrigins")),
            "allow_headers": _texts(cors.get("AccessControlAllowHeaders")),
            "allow_methods": _texts(cors.get("AccessControlAllowMethods")),
            "allow_credentials": flag(cors.get("AccessControlAllowCredentials")),
            "expose_headers": _texts(cors.get("AccessControlExposeHeaders")),
            "origin_override": flag(cors.get("OriginOverride")),
        }
        if (max_age := number(cors.get("AccessControlMaxAgeSec"))) is not None:
            table["max_age_sec"] = max_age
        out["cors"] = table
    security = config.get("SecurityHeadersConfig")
    if isinstance(security, Mapping):
        out["security_headers"] = _security_headers(security, where, notes)
    custom = [{"header": text(h.get("Header")) or "", "value": text(h.get("Value")) or "",
               "override": flag(h.get("Override"))}
              for h in items(config.get("CustomHeadersConfig")) if isinstance(h, Mapping)]
    if custom:
        out["custom_headers"] = custom  # type: ignore[assignment]
    removed = [text(h.get("Header")) for h in items(config.get("RemoveHeadersConfig")) if isinstance(h, Mapping)]
    if removed:
        out["remove_headers"] = [h for h in removed if h]
    timing = config.get("ServerTimingHeadersConfig")
    if isinstance(timing, Mapping) and flag(timing.get("Enabled")):
        out["server_timing"] = {"enabled": True, "sampling_rate": _rate(timing.get("SamplingRate"))}
    return out


def _rate(value: Any) -> float:
    """SamplingRate, a percentage with decimals, also when a template writes it as a string ("12.5")."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:
        return float(text(value) or 0)
    except ValueError:
        return 0.0


def _security_headers(security: Mapping[str, Any], where: str, notes: list[str]) -> dict[str, TomlValue]:
    """SecurityHeadersConfig -> edgesim's table: each header's Override kept as its own `<field>_override`
    where it differs from `override` (the first header's), as CloudFront keeps one per header."""
    out: dict[str, TomlValue] = {}
    overrides: dict[str, bool] = {}

    def part(name: str, field: str) -> Mapping[str, Any] | None:
        value = security.get(name)
        if isinstance(value, Mapping):
            overrides[field] = flag(value.get("Override"))
            return value
        return None

    if (hsts := part("StrictTransportSecurity", "strict_transport_security")) is not None:
        value = f"max-age={number(hsts.get('AccessControlMaxAgeSec')) or 0}"
        value += "; includeSubDomains" if flag(hsts.get("IncludeSubdomains")) else ""
        value += "; preload" if flag(hsts.get("Preload")) else ""
        out["strict_transport_security"] = value
    if security.get("ContentTypeOptions") is not None:
        out["content_type_options"] = True
        options = part("ContentTypeOptions", "content_type_options")
        overrides.setdefault("content_type_options", flag(options.get("Override") if options else None))
    if (frame := part("FrameOptions", "frame_options")) is not None:
        out["frame_options"] = text(frame.get("FrameOption")) or "SAMEORIGIN"
    if (xss := part("XSSProtection", "xss_protection")) is not None:
        value = "1" if flag(xss.get("Protection")) else "0"
        if value == "1" and flag(xss.get("ModeBlock")):
            value += "; mode=block"
        elif value == "1" and (report := text(xss.get("ReportUri"))):
            value += f"; report={report}"
        out["xss_protection"] = value
    if (referrer := part("ReferrerPolicy", "referrer_policy")) is not None:
        out["referrer_policy"] = text(referrer.get("ReferrerPolicy")) or "strict-origin-when-cross-origin"
    if (csp := part("ContentSecurityPolicy", "content_security_policy")) is not None:
        out["content_security_policy"] = text(csp.get("ContentSecurityPolicy")) or ""
    first = next(iter(overrides.values()), False)
    out["override"] = first
    for field, override in overrides.items():
        if override != first:
            out[f"{field}_override"] = override
    return out


# --- a behavior's policy references -----------------------------------------------------------


def _policy(reference: Any, source: Source, fetched: FetchedPolicies, where: str, notes: list[str], *, kind: str,
            resource_type: str, managed: Callable[[str], Any],
            inline: Callable[[Mapping[str, Any]], dict[str, TomlValue]],
            placeholder: str | None) -> TomlValue | None:
    """A behavior's `<kind>Id`: a managed policy's name, the template's or a `--policy` file's
    policy inline, or a placeholder."""
    config_key = POLICY_KINDS[kind][2]
    resource = source.template.referenced(reference, resource_type)
    if resource is not None:
        body = resource.properties.get(config_key)
        if isinstance(body, Mapping):
            return inline(body)
    literal = text(reference)
    if literal is not None:
        try:
            return str(managed(literal).name)
        except ValueError:
            pass
        if (config := fetched.config(kind, literal)) is not None:
            return inline(config)
    shown = literal if literal is not None else describe(reference)
    instead = f'"{placeholder}" stands in for it' if placeholder else "the behavior has none in its place"
    command = fetch_command(kind, literal)
    if literal is not None:
        fetch = (f"run `{command}` and import again with `--policy {command.rsplit(' ', 1)[-1]}` "
                 "(or copy its settings into an inline table)")
    else:  # another stack's policy: its ID is not here to fetch it by
        fetch = f"copy its settings into an inline table (`{command.split(' >', 1)[0]}` lists yours)"
    notes.append(f"{where}: {kind} {shown} is neither a managed policy nor defined in the input; {instead} - {fetch}")
    if placeholder is None:
        return None
    return Remark(placeholder, f"PLACEHOLDER for {kind} {shown}, not in the input")


def cache_policy(reference: Any, source: Source, fetched: FetchedPolicies, where: str,
                 notes: list[str]) -> TomlValue | None:
    return _policy(reference, source, fetched, where, notes, kind="cache policy", resource_type=CACHE_POLICY,
                   managed=managed_cache_policy, inline=inline_cache_policy, placeholder="CachingOptimized")


def origin_request_policy(reference: Any, source: Source, fetched: FetchedPolicies, where: str,
                          notes: list[str]) -> TomlValue | None:
    return _policy(reference, source, fetched, where, notes, kind="origin request policy",
                   resource_type=ORIGIN_REQUEST_POLICY, managed=managed_origin_request_policy,
                   inline=inline_origin_request_policy, placeholder=None)


def response_headers_policy(reference: Any, source: Source, fetched: FetchedPolicies, where: str,
                            notes: list[str]) -> TomlValue | None:
    def inline(body: Mapping[str, Any]) -> dict[str, TomlValue]:
        return inline_response_headers_policy(body, where, notes)

    return _policy(reference, source, fetched, where, notes, kind="response headers policy",
                   resource_type=RESPONSE_HEADERS_POLICY, managed=managed_response_headers_policy, inline=inline,
                   placeholder=None)


def legacy_cache_settings(behavior: Mapping[str, Any], where: str,
                          notes: list[str]) -> tuple[dict[str, TomlValue], dict[str, TomlValue] | None]:
    """ForwardedValues + MinTTL / DefaultTTL / MaxTTL -> (an inline cache policy, an inline origin
    request policy or None). What the legacy settings forward joins the cache key, as a cache
    policy's selection does; forwarding every header ("*") turns caching off on CloudFront, which
    an inline cache policy says as TTLs of 0, the headers going by an origin request policy."""
    forwarded = behavior.get("ForwardedValues")
    forwarded = forwarded if isinstance(forwarded, Mapping) else {}
    policy: dict[str, TomlValue] = {"name": "legacy cache settings"}
    for ours, theirs, default in (("min_ttl", "MinTTL", 0), ("default_ttl", "DefaultTTL", 86400),
                                  ("max_ttl", "MaxTTL", 31536000)):
        value = number(behavior.get(theirs))
        policy[ours] = default if value is None else value
    headers = _texts(forwarded.get("Headers"))
    cookies_config: Mapping[str, Any] = forwarded["Cookies"] if isinstance(forwarded.get("Cookies"), Mapping) else {}
    cookies = _key_items({"Behavior": text(cookies_config.get("Forward")) or "none",
                          "Names": cookies_config.get("WhitelistedNames")}, "Behavior", "Names")
    query_strings: dict[str, TomlValue] = {"behavior": "none"}
    if flag(forwarded.get("QueryString")):
        keys = _texts(forwarded.get("QueryStringCacheKeys"))
        query_strings = {"behavior": "whitelist", "items": keys} if keys else {"behavior": "all"}
    # Brotli needs a cache policy; legacy settings compress with gzip only (CloudFront docs: "Serve
    # compressed files").
    if flag(behavior.get("Compress")):
        policy["enable_accept_encoding_gzip"] = True
    origin_request: dict[str, TomlValue] | None = None
    if "*" in headers:
        policy.update(min_ttl=0, default_ttl=0, max_ttl=0)
        origin_request = {"name": "legacy: forward all headers", "header_behavior": "allViewer"}
        for name, selection in (("cookies", cookies), ("query_strings", query_strings)):
            if selection["behavior"] != "none":
                origin_request[name] = selection
        notes.append(f"{where}: the legacy settings forward all headers (\"*\"), with which CloudFront caches "
                     "nothing; imported as a cache policy of TTL 0 and an origin request policy forwarding "
                     "every viewer header")
        return policy, origin_request
    if headers:
        policy["headers"] = {"behavior": "whitelist", "items": headers}
    for name, selection in (("cookies", cookies), ("query_strings", query_strings)):
        if selection["behavior"] != "none":
            policy[name] = selection
    return policy, origin_request
