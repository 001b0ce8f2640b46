"""Cache, origin request and response headers policies: their models and CloudFront's managed ones.

Managed policies are looked up by name or by ID, as CloudFront accepts either (spec §4.2).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from edgesim.config_errors import did_you_mean
from edgesim.docs_links import cite

Behavior = Literal["none", "whitelist", "allExcept", "all"]
_ORIGIN_REQUEST_POLICY_ONLY = frozenset({
    "cloudfront-viewer-address", "cloudfront-viewer-asn", "cloudfront-viewer-ja3-fingerprint", "cloudfront-viewer-tls",
})


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class KeyItems(_Frozen):
    """Which headers, cookies or query strings a policy selects (CloudFront's *Config shapes)."""

    behavior: Behavior = "none"
    items: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _items_need_list_behavior(self) -> KeyItems:
        if self.items and self.behavior in ("none", "all"):
            raise ValueError(f"items are only used with behavior 'whitelist' or 'allExcept', not {self.behavior!r}")
        return self

    def selects(self, name: str, *, case_sensitive: bool = False) -> bool:
        if self.behavior == "none":
            return False
        if self.behavior == "all":
            return True
        if case_sensitive:
            found = name in self.items
        else:
            found = name.lower() in {i.lower() for i in self.items}
        return found if self.behavior == "whitelist" else not found


class CachePolicy(_Frozen):
    """CachePolicyConfig: TTLs and what joins the cache key (spec §4.2, §4.3)."""

    name: str = "inline"
    id: str = ""
    min_ttl: int = Field(default=0, ge=0)
    default_ttl: int = Field(default=86400, ge=0)
    max_ttl: int = Field(default=31536000, ge=0)
    headers: KeyItems = KeyItems()  # headers behavior: none | whitelist only in CloudFront
    cookies: KeyItems = KeyItems()
    query_strings: KeyItems = KeyItems()
    enable_accept_encoding_gzip: bool = False
    enable_accept_encoding_brotli: bool = False

    @model_validator(mode="after")
    def _ttl_order(self) -> CachePolicy:
        # CloudFront raises DefaultTTL to MinTTL and MaxTTL to DefaultTTL when they are below (spec §4.3).
        if self.default_ttl < self.min_ttl:
            object.__setattr__(self, "default_ttl", self.min_ttl)
        if self.max_ttl < self.default_ttl:
            object.__setattr__(self, "max_ttl", self.default_ttl)
        return self

    @model_validator(mode="after")
    def _key_headers(self) -> CachePolicy:
        # CachePolicyHeadersConfig takes none | whitelist only (BC), and the viewer's address, ASN,
        # TLS and JA3 headers can reach the origin but never join the key (spec §2.6).
        if self.headers.behavior not in ("none", "whitelist"):
            raise ValueError(f"headers.behavior {self.headers.behavior!r}: a cache policy keys on headers "
                             "'none' or 'whitelist' only; forward more with an origin request policy")
        bad = [h for h in self.headers.items if h.lower() in _ORIGIN_REQUEST_POLICY_ONLY]
        if bad:
            raise ValueError(f"headers {bad} can be forwarded by an origin request policy but not put in "
                             f"a cache key ({cite('adding-cloudfront-headers')})")
        return self

    @property
    def caching_disabled(self) -> bool:
        return self.max_ttl == 0


class OriginRequestPolicy(_Frozen):
    """OriginRequestPolicyConfig: what reaches the origin without joining the key (spec §2.6, §4.2)."""

    name: str = "inline"
    id: str = ""
    # header behaviors: none | whitelist | allViewer | allViewerAndWhitelistCloudFront | allExcept
    header_behavior: Literal["none", "whitelist", "allViewer", "allViewerAndWhitelistCloudFront", "allExcept"] = "none"
    headers: tuple[str, ...] = ()
    cookies: KeyItems = KeyItems()
    query_strings: KeyItems = KeyItems()

    @model_validator(mode="after")
    def _no_authorization(self) -> OriginRequestPolicy:
        # CloudFront refuses to create such a policy (spec §4.2): "The parameter Headers contains Authorization that
        # is not allowed" (a 400; AWS knowledge-center cloudfront-authorization-header: Authorization
        # joins the cache key, so a cache policy forwards it, or a policy of every viewer header does;
        # DG http-401-unauthorized). Excluding it (allExcept) is allowed.
        if self.header_behavior in ("whitelist", "allViewerAndWhitelistCloudFront") and any(
                h.lower() == "authorization" for h in self.headers):
            raise ValueError("headers: CloudFront refuses an origin request policy that names Authorization "
                             "(\"The parameter Headers contains Authorization that is not allowed\"); put "
                             "Authorization in the cache policy's headers, or forward every viewer header "
                             "(header_behavior = \"allViewer\")")
        return self


# What CloudFront's API takes in a response headers policy (AD/understanding-response-headers-policies);
# CreateResponseHeadersPolicy refuses anything else, so a config edgesim runs is one CloudFront accepts.
CORS_METHODS = ("GET", "DELETE", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "ALL")
FRAME_OPTIONS = ("DENY", "SAMEORIGIN")
REFERRER_POLICIES = ("no-referrer", "no-referrer-when-downgrade", "origin", "origin-when-cross-origin", "same-origin",
                     "strict-origin", "strict-origin-when-cross-origin", "unsafe-url")
CSP_MAX_LENGTH = 1783  # the Content-Security-Policy value's limit (TooLongCSPInResponseHeadersPolicy)


def _bad_wildcard(origin: str) -> bool:
    """`*` alone, or as the leftmost label (`https://*.example.org`); never in a top-level domain
    (`example.*`), right of a subdomain (`test.*.example.org`) or inside a term (`exa*mple.org`)."""
    if origin == "*" or "*" not in origin:
        return False
    host = origin.partition("://")[2] or origin
    return not host.startswith("*.") or "*" in host[1:] or "*" in origin[:len(origin) - len(host)]


class CorsConfig(_Frozen):
    allow_origins: tuple[str, ...] = ("*",)
    allow_headers: tuple[str, ...] = ("*",)
    allow_methods: tuple[str, ...] = ("ALL",)
    allow_credentials: bool = False
    expose_headers: tuple[str, ...] = ()
    max_age_sec: int | None = Field(default=None, ge=0)
    origin_override: bool = False

    @model_validator(mode="after")
    def _what_cloudfront_accepts(self) -> CorsConfig:
        page = cite("understanding-response-headers-policies")
        bad = [m for m in self.allow_methods if m not in CORS_METHODS]
        if bad:
            raise ValueError(f"allow_methods {bad}: CloudFront takes only {', '.join(CORS_METHODS)} "
                             f"(ALL stands for every one of the others) ({page})")
        bad = [o for o in self.allow_origins if _bad_wildcard(o)]
        if bad:
            raise ValueError(f"allow_origins {bad}: `*` may stand alone or for the leftmost part of a domain "
                             f"(\"https://*.example.org\"), not in a top-level domain, right of a subdomain or "
                             f"inside a term ({page})")
        if self.allow_credentials and "*" in self.allow_headers:
            # CloudFront's API error, quoted in aws/aws-cdk#35308: "The parameter
            # Access-Control-Allow-Headers cannot contain * when allowCredentials is true."
            raise ValueError("allow_headers cannot contain \"*\" when allow_credentials is true: list the header "
                             f"names instead ({page})")
        return self


class SecurityHeadersConfig(_Frozen):
    strict_transport_security: str | None = None
    content_type_options: bool = False
    frame_options: str | None = None
    xss_protection: str | None = None
    referrer_policy: str | None = None
    content_security_policy: str | None = None
    override: bool = False
    # CloudFront keeps one Override flag per security header (AD/understanding-response-headers-policies,
    # "Each of these security headers settings contains a Boolean setting"); None follows `override`.
    # X-Content-Type-Options' differs from the others' in the managed policies.
    strict_transport_security_override: bool | None = None
    content_type_options_override: bool | None = None
    frame_options_override: bool | None = None
    xss_protection_override: bool | None = None
    referrer_policy_override: bool | None = None
    content_security_policy_override: bool | None = None

    def overrides(self, header: str) -> bool:
        """Whether the policy's value replaces the origin's for `header`, one of this section's fields."""
        own: bool | None = getattr(self, f"{header}_override")
        return self.override if own is None else own

    @model_validator(mode="after")
    def _what_cloudfront_accepts(self) -> SecurityHeadersConfig:
        page = cite("understanding-response-headers-policies")
        if self.frame_options is not None and self.frame_options not in FRAME_OPTIONS:
            raise ValueError(f"frame_options {self.frame_options!r}: CloudFront takes \"DENY\" or \"SAMEORIGIN\" ({page})")
        if self.referrer_policy is not None and self.referrer_policy not in REFERRER_POLICIES:
            raise ValueError(f"referrer_policy {self.referrer_policy!r}: CloudFront takes one of "
                             f"{', '.join(REFERRER_POLICIES)} ({page})")
        if self.content_security_policy is not None and len(self.content_security_policy) > CSP_MAX_LENGTH:
            raise ValueError(f"content_security_policy is {len(self.content_security_policy)} characters; CloudFront "
                             f"takes at most {CSP_MAX_LENGTH} ({page})")
        return self


class CustomHeader(_Frozen):
    header: str
    value: str
    override: bool = False


class ServerTiming(_Frozen):
    """ServerTimingHeadersConfig: the share of responses that get CloudFront's Server-Timing header
    (AD/understanding-response-headers-policies, "Sampling rate and Pragma request header")."""

    enabled: bool = True
    # A percentage, 0 to 100 with up to four decimal places.
    sampling_rate: float = Field(default=100, ge=0, le=100)

    @model_validator(mode="after")
    def _four_places(self) -> ServerTiming:
        if round(self.sampling_rate, 4) != self.sampling_rate:
            raise ValueError(f"sampling_rate {self.sampling_rate}: CloudFront takes a number from 0 to 100 with up "
                             f"to four decimal places ({cite('understanding-response-headers-policies')})")
        return self


class ResponseHeadersPolicy(_Frozen):
    """ResponseHeadersPolicyConfig: headers added after the cache, before viewer-response (spec §3.1)."""

    name: str = "inline"
    id: str = ""
    cors: CorsConfig | None = None
    security_headers: SecurityHeadersConfig | None = None
    custom_headers: tuple[CustomHeader, ...] = ()
    remove_headers: tuple[str, ...] = ()
    server_timing: ServerTiming | None = None

    @model_validator(mode="after")
    def _removable(self) -> ResponseHeadersPolicy:
        # CloudFront refuses these in RemoveHeadersConfig (AD/understanding-response-headers-policies).
        bad = [h for h in self.remove_headers if h.lower() in _NOT_REMOVABLE
               or h.lower().startswith(("x-amz-cf-", "x-edge-"))]
        if bad:
            raise ValueError(f"remove_headers: CloudFront cannot remove {bad}")
        return self


_NOT_REMOVABLE = frozenset({
    "connection", "content-encoding", "content-length", "expect", "host", "keep-alive", "proxy-authenticate",
    "proxy-authorization", "proxy-connection", "trailer", "transfer-encoding", "upgrade", "via", "warning",
    "x-accel-buffering", "x-accel-charset", "x-accel-limit-rate", "x-accel-redirect", "x-amzn-auth",
    "x-amzn-cf-billing", "x-amzn-cf-id", "x-amzn-cf-xff", "x-amzn-errortype", "x-amzn-fle-profile",
    "x-amzn-header-count", "x-amzn-header-order", "x-amzn-lambda-integration-tag", "x-amzn-requestid",
    "x-cache", "x-forwarded-proto", "x-real-ip",
})


_GZIP_BR: dict[str, Any] = {"enable_accept_encoding_gzip": True, "enable_accept_encoding_brotli": True}

MANAGED_CACHE_POLICIES: tuple[CachePolicy, ...] = (
    CachePolicy(name="CachingOptimized", id="658327ea-f89d-4fab-a63d-7e88639e58f6",
                min_ttl=1, default_ttl=86400, max_ttl=31536000, **_GZIP_BR),
    CachePolicy(name="CachingOptimizedForUncompressedObjects", id="b2884449-e4de-46a7-ac36-70bc7f1ddd6d",
                min_ttl=1, default_ttl=86400, max_ttl=31536000),
    CachePolicy(name="CachingDisabled", id="4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
                min_ttl=0, default_ttl=0, max_ttl=0),
    CachePolicy(name="UseOriginCacheControlHeaders", id="83da9c7e-98b4-4e11-a168-04f0df8e2c65",
                min_ttl=0, default_ttl=0, max_ttl=31536000,
                headers=KeyItems(behavior="whitelist", items=("host", "origin", "x-http-method-override",
                                                               "x-http-method", "x-method-override")),
                cookies=KeyItems(behavior="all"), **_GZIP_BR),
    CachePolicy(name="UseOriginCacheControlHeaders-QueryStrings", id="4cc15a8a-d715-48a4-82b8-cc0b614638fe",
                min_ttl=0, default_ttl=0, max_ttl=31536000,
                headers=KeyItems(behavior="whitelist", items=("host", "origin", "x-http-method-override",
                                                               "x-http-method", "x-method-override")),
                cookies=KeyItems(behavior="all"), query_strings=KeyItems(behavior="all"), **_GZIP_BR),
    CachePolicy(name="Amplify", id="2e54312d-136d-493c-8eb9-b001f22f67d2",
                min_ttl=2, default_ttl=2, max_ttl=600,
                headers=KeyItems(behavior="whitelist", items=("authorization", "cloudfront-viewer-country", "host")),
                cookies=KeyItems(behavior="all"), query_strings=KeyItems(behavior="all"), **_GZIP_BR),
    # Compression support is enabled for gzip only (AD/using-managed-cache-policies).
    CachePolicy(name="Elemental-MediaPackage", id="08627262-05a9-4f76-9ded-b50ca2e3a84f",
                min_ttl=0, default_ttl=86400, max_ttl=31536000,
                headers=KeyItems(behavior="whitelist", items=("origin",)),
                query_strings=KeyItems(behavior="whitelist", items=("aws.manifestfilter", "start", "end", "m")),
                enable_accept_encoding_gzip=True),
)

MANAGED_ORIGIN_REQUEST_POLICIES: tuple[OriginRequestPolicy, ...] = (
    OriginRequestPolicy(name="AllViewer", id="216adef6-5c7f-47e4-b989-5492eafa07d3",
                        header_behavior="allViewer", cookies=KeyItems(behavior="all"),
                        query_strings=KeyItems(behavior="all")),
    OriginRequestPolicy(name="AllViewerExceptHostHeader", id="b689b0a8-53d0-40ab-baf2-68738e2966ac",
                        header_behavior="allExcept", headers=("host",), cookies=KeyItems(behavior="all"),
                        query_strings=KeyItems(behavior="all")),
    OriginRequestPolicy(name="AllViewerAndCloudFrontHeaders-2022-06", id="33f36d7e-f396-46d9-90e0-52428a34d9dc",
                        header_behavior="allViewerAndWhitelistCloudFront",
                        # The CloudFront headers released through June 2022, as the managed policy lists
                        # them; later ones (Header-Order, Header-Count, JA3) are not included.
                        headers=("cloudfront-forwarded-proto", "cloudfront-is-android-viewer",
                                 "cloudfront-is-desktop-viewer", "cloudfront-is-ios-viewer",
                                 "cloudfront-is-mobile-viewer", "cloudfront-is-smarttv-viewer",
                                 "cloudfront-is-tablet-viewer", "cloudfront-viewer-address", "cloudfront-viewer-asn",
                                 "cloudfront-viewer-city", "cloudfront-viewer-country", "cloudfront-viewer-country-name",
                                 "cloudfront-viewer-country-region", "cloudfront-viewer-country-region-name",
                                 "cloudfront-viewer-http-version", "cloudfront-viewer-latitude",
                                 "cloudfront-viewer-longitude", "cloudfront-viewer-metro-code",
                                 "cloudfront-viewer-postal-code", "cloudfront-viewer-time-zone", "cloudfront-viewer-tls"),
                        cookies=KeyItems(behavior="all"), query_strings=KeyItems(behavior="all")),
    OriginRequestPolicy(name="CORS-S3Origin", id="88a5eaf4-2fd4-4709-b370-b4c650ea3fcf",
                        header_behavior="whitelist",
                        headers=("origin", "access-control-request-headers", "access-control-request-method")),
    OriginRequestPolicy(name="CORS-CustomOrigin", id="59781a5b-3903-41f3-afcb-af62929ccde1",
                        header_behavior="whitelist", headers=("origin",)),
    OriginRequestPolicy(name="UserAgentRefererHeaders", id="acba4595-bd28-49b8-b9fe-13317c0390fa",
                        # No query strings and no cookies: only the two headers.
                        header_behavior="whitelist", headers=("user-agent", "referer")),
)

# The managed security headers keep an origin's own value, except X-Content-Type-Options, which
# CloudFront adds to every response whether the origin sent one or not (AD/using-managed-response-headers-policies).
_SECURITY = SecurityHeadersConfig(
    strict_transport_security="max-age=31536000", content_type_options=True, frame_options="SAMEORIGIN",
    xss_protection="1; mode=block", referrer_policy="strict-origin-when-cross-origin", override=False,
    content_type_options_override=True,
)
# CORS-With-Preflight adds three headers to a preflight (Allow-Methods, Allow-Origin, Expose-Headers; UNCERTAIN
# which three: the settings table is not in the stored docs, this reading matches other emulators) and only
# Allow-Origin to a simple CORS request; it has no Allow-Headers and no Max-Age (AD/using-managed-response-headers-policies).
_PREFLIGHT = CorsConfig(allow_origins=("*",), allow_headers=(),
                        allow_methods=("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"),
                        expose_headers=("*",), max_age_sec=None)
# SimpleCORS: Access-Control-Allow-Origin: * only, origin's own value kept.
_SIMPLE = CorsConfig(allow_origins=("*",), allow_headers=(), allow_methods=(), expose_headers=())

MANAGED_RESPONSE_HEADERS_POLICIES: tuple[ResponseHeadersPolicy, ...] = (
    ResponseHeadersPolicy(name="SecurityHeadersPolicy", id="67f7725c-6f97-4210-82d7-5512b31e9d03",
                          security_headers=_SECURITY),
    ResponseHeadersPolicy(name="CORS-With-Preflight", id="5cc3b908-e619-4b99-88e5-2cf7f45965bd", cors=_PREFLIGHT),
    ResponseHeadersPolicy(name="CORS-and-SecurityHeadersPolicy", id="e61eb60c-9c35-4d20-a928-2b84e02af89c",
                          cors=_SIMPLE, security_headers=_SECURITY),
    ResponseHeadersPolicy(name="SimpleCORS", id="60669652-455b-4ae9-85a4-c4c02393f86c", cors=_SIMPLE),
    ResponseHeadersPolicy(name="CORS-with-preflight-and-SecurityHeadersPolicy",
                          id="eaab4381-ed33-4a86-88ca-d9558dc6cd63", cors=_PREFLIGHT, security_headers=_SECURITY),
)


def _lookup(table: tuple[_Frozen, ...], key: str, kind: str) -> _Frozen:
    # CloudFront's API and console name managed policies "Managed-CachingOptimized"; edgesim's short
    # names leave the prefix out, and both are taken.
    written, key = key, key.removeprefix("Managed-")
    for policy in table:
        if key in (getattr(policy, "name"), getattr(policy, "id")):
            return policy
    names = [str(getattr(p, "name")) for p in table]
    # Names are matched as CloudFront spells them; a wrong case or a misspelling is told the name.
    bare = re.sub(r"(?i)^managed-", "", key)
    meant = next((name for name in names if name.lower() == bare.lower()), None) or did_you_mean(bare, names)
    hint = f"did you mean {meant!r}? " if meant else ""
    raise ValueError(f"unknown managed {kind} {written!r}; {hint}use one of: {', '.join(names)}, or an inline table")


def managed_cache_policy(key: str) -> CachePolicy:
    policy = _lookup(MANAGED_CACHE_POLICIES, key, "cache policy")
    assert isinstance(policy, CachePolicy)
    return policy


def managed_origin_request_policy(key: str) -> OriginRequestPolicy:
    policy = _lookup(MANAGED_ORIGIN_REQUEST_POLICIES, key, "origin request policy")
    assert isinstance(policy, OriginRequestPolicy)
    return policy


def managed_response_headers_policy(key: str) -> ResponseHeadersPolicy:
    policy = _lookup(MANAGED_RESPONSE_HEADERS_POLICIES, key, "response headers policy")
    assert isinstance(policy, ResponseHeadersPolicy)
    return policy
