"""Frozen pydantic models of a distribution, and load_config(); every error names file and field.

The TOML mirrors CloudFront's DistributionConfig in snake_case. Loading starts nothing: the
Simulator materialises runtimes, origins and the cache from these values.
"""

from __future__ import annotations

import ipaddress
import re
from functools import cached_property
import tomllib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, Union
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from edgesim.config_errors import explain
from edgesim.docs_links import cite
from edgesim.edge_runtimes import lambda_edge_runtime_problem
from edgesim.errors import ConfigError
from edgesim.messages import EventType
from edgesim.policies import (
    CachePolicy,
    OriginRequestPolicy,
    ResponseHeadersPolicy,
    managed_cache_policy,
    managed_origin_request_policy,
    managed_response_headers_policy,
)

CONFIG_FILENAME = "edgesim.toml"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def _base_dir(info: ValidationInfo) -> Path:
    ctx = info.context or {}
    return Path(ctx.get("base_dir", "."))


# --- distribution-wide settings ---------------------------------------------------------------


class DistributionSettings(_Frozen):
    id: str = "EDFDVBD6EXAMPLE"
    domain_name: str = "d111111abcdef8.cloudfront.net"
    # The point of presence reported in X-Amz-Cf-Pop and cf.edgeLocation.
    pop: str = "SFO53-P7"
    # Lambda@Edge quotas (spec §2.7, UNCERTAIN): "per-trigger" is the classic table (128 MB / 5 s on
    # viewer triggers), "flat" the newer 2025 reading (Lambda's limits, 30 s on every trigger).
    lambda_quotas: Literal["per-trigger", "flat"] = "per-trigger"
    # Local development runs over plain http. By default a redirect-to-https or https-only behavior
    # treats the local connection as if it were https (and logs that it did); set this to true to get
    # CloudFront's 301 / 403 for plain-http viewers (spec §3.1).
    enforce_viewer_protocol_policy: bool = False
    # CloudFront Functions compute budget in ms; utilization is the share of it used (spec §1.6).
    function_compute_budget_ms: float = Field(default=1.0, gt=0)
    # Wall-clock kill for a runaway CloudFront Function (an endless loop) in ms. Separate from the
    # compute budget above, and generous, so a slow laptop never fails a healthy function.
    function_time_limit_ms: float = Field(default=50.0, gt=0)
    # Lambda@Edge handlers get the AWS credentials of edgesim's environment (AWS_ACCESS_KEY_ID...,
    # AWS_PROFILE, AWS_ENDPOINT_URL...), standing in for the execution role's, so that SDK calls work
    # locally. Off by default: a handler then finds no credentials at all, not even ~/.aws's.
    lambda_aws_credentials: bool = False
    # Clear the edge cache when the config is reloaded.
    clear_cache_on_reload: bool = True
    # Request collapsing: simultaneous misses for one cache key share the first one's origin fetch
    # (request_collapsing.py). false sends each to the origin, as edgesim did before.
    request_collapsing: bool = True
    # MiB of cached bodies the edge cache holds in memory, least recently used evicted first; a body
    # over 8 MiB (or over this whole budget) is kept in a temp file instead (cache_files.py).
    cache_memory_limit_mb: int = Field(default=256, ge=1, le=1 << 20)
    default_root_object: str = ""


# The viewer's location, besides its country (see ViewerProfile._location_follows_country).
LOCATION_FIELDS = ("country_name", "country_region", "country_region_name", "city", "postal_code", "time_zone",
                   "latitude", "longitude", "metro_code")


def country_code_problem(code: str) -> str | None:
    """Why `code` is not a country as CloudFront names one (ISO 3166-1 alpha-2, DG/georestrictions);
    None when it is one. "UK" is only reserved there, the United Kingdom is "GB": CloudFront refuses
    it in a geo restriction (aws/aws-cdk#19022) and never sends it as a viewer's country."""
    if code.upper() == "UK":
        return "'UK' is not an ISO 3166-1 alpha-2 country code: the United Kingdom is 'GB'"
    if not (len(code) == 2 and code.isascii() and code.isalpha()):
        return f"{code!r} is not an ISO 3166-1 alpha-2 country code; write e.g. 'US' or 'FR'"
    return None


class ViewerProfile(_Frozen):
    """Who the simulated viewer is: feeds CloudFront-Viewer-* headers when a policy asks (spec §2.6)."""

    # The viewer's address everywhere CloudFront shows one (a function's viewer.ip / clientIp,
    # X-Forwarded-For, CloudFront-Viewer-Address); "" is the address the request came from.
    ip: str = ""
    country: str = "US"
    country_name: str = "United States"
    country_region: str = "WA"
    country_region_name: str = "Washington"
    city: str = "Seattle"
    postal_code: str = "98101"
    time_zone: str = "America/Los_Angeles"
    latitude: str = "47.61000"
    longitude: str = "-122.33000"
    metro_code: str = "819"
    asn: str = "16509"
    http_version: str = "2.0"
    tls: str = "TLSv1.3:TLS_AES_128_GCM_SHA256:fullHandshake"
    # CloudFront fingerprints the viewer's TLS ClientHello; a local plain-http viewer sends none, so
    # this stands in for it (an example MD5; "" leaves the header out, as for a non-TLS viewer).
    ja3_fingerprint: str = "773906b0efdefa24a7f2b8eb6985bf37"

    @model_validator(mode="after")
    def _location_follows_country(self) -> ViewerProfile:
        # The location defaults describe one viewer, in Seattle. A profile placed in another country
        # without them gets none: a header edgesim cannot know is left out, rather than a Seattle
        # value sent beside another country.
        if "country" in self.model_fields_set and self.country.upper() != "US":
            for name in LOCATION_FIELDS:
                if name not in self.model_fields_set:
                    object.__setattr__(self, name, "")
        return self

    @field_validator("country")
    @classmethod
    def _a_country_code(cls, value: str) -> str:
        # "" is a viewer CloudFront cannot locate (served by any geo restriction).
        if value and (problem := country_code_problem(value)):
            raise ValueError(problem)
        return value

    @field_validator("ip")
    @classmethod
    def _an_address(cls, value: str) -> str:
        if value:
            try:
                ipaddress.ip_address(value)
            except ValueError:
                raise ValueError(f"{value!r} is not an IPv4 or IPv6 address; use e.g. '203.0.113.10', "
                                 "or leave it out for the address requests come from") from None
        return value


# --- origins ----------------------------------------------------------------------------------


class CustomOrigin(_Frozen):
    """An HTTP origin (CustomOriginConfig): protocol, host, port and origin path from `url`."""

    id: str
    url: str
    custom_headers: dict[str, str] = {}
    # CloudFront's ranges (spec §1.7, an origin's timeouts): connection 1–10 s, response 1–120 s. A
    # shorter one would pass here and fail at deploy; tests that need one use model_copy.
    connect_timeout: float = Field(default=10, ge=1, le=10)
    read_timeout: float = Field(default=30, ge=1, le=120)
    keepalive_timeout: float = Field(default=5, ge=1, le=120)
    connection_attempts: int = Field(default=3, ge=1, le=3)
    ssl_protocols: tuple[str, ...] = ("TLSv1.2",)

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{v!r} is not an http(s) URL; write e.g. 'http://127.0.0.1:3000'")
        if parts.query or parts.fragment:
            raise ValueError("an origin URL takes no query string or fragment")
        return v.rstrip("/") if parts.path not in ("", "/") else f"{parts.scheme}://{parts.netloc}"

    @cached_property  # parsed once: the pipeline reads these on every request
    def protocol(self) -> str:
        return urlsplit(self.url).scheme

    @cached_property
    def domain_name(self) -> str:
        return urlsplit(self.url).hostname or ""

    @cached_property
    def port(self) -> int:
        parts = urlsplit(self.url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    @cached_property
    def path(self) -> str:
        """The origin path, no trailing `/` (spec §2.3)."""
        return urlsplit(self.url).path.rstrip("/")


class S3Origin(_Frozen):
    """An S3-style origin served from a local directory, answering as S3 would."""

    id: str
    directory: Path
    domain_name: str = ""
    custom_headers: dict[str, str] = {}
    region: str = "us-east-1"
    path: str = ""

    @field_validator("directory")
    @classmethod
    def _resolve(cls, v: Path, info: ValidationInfo) -> Path:
        return (_base_dir(info) / v).resolve()

    @model_validator(mode="after")
    def _default_domain(self) -> S3Origin:
        if not self.domain_name:
            bucket = re.sub(r"[^a-z0-9.-]", "-", self.id.lower())
            object.__setattr__(self, "domain_name", f"{bucket}.s3.amazonaws.com")
        return self


Origin = Union[CustomOrigin, S3Origin]


def _origin_kind(value: Any) -> str | None:
    """Which origin a table is, from its key (`url` or `directory`), so that a problem in one is
    told once, in that kind's terms, not also as the other kind's missing and unknown keys."""
    if isinstance(value, dict):
        return "CustomOrigin" if "url" in value else "S3Origin" if "directory" in value else None
    return type(value).__name__


# The tags are the classes' names: config._loc leaves capitalised names out of a problem's location.
_TaggedOrigin = Annotated[
    Union[Annotated[CustomOrigin, Tag("CustomOrigin")], Annotated[S3Origin, Tag("S3Origin")]],
    Discriminator(_origin_kind, custom_error_type="origin_kind",
                  custom_error_message="an origin needs `url` (a custom origin) or `directory` "
                                       "(a local folder served as an S3 origin)"),
]


class OriginGroup(_Frozen):
    """Origin failover: the secondary is tried on these statuses, a connection error or a timeout,
    for GET, HEAD and OPTIONS requests only (DG/RequestAndResponseBehaviorOriginGroups)."""

    id: str
    primary: str
    secondary: str
    failover_status_codes: tuple[int, ...] = (500, 502, 503, 504)

    @field_validator("failover_status_codes")
    @classmethod
    def _codes(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        allowed = {400, 403, 404, 416, 500, 502, 503, 504}
        bad = sorted(set(v) - allowed)
        if bad:
            raise ValueError(f"CloudFront fails over only on {sorted(allowed)}, not {bad}")
        return v


# --- function associations --------------------------------------------------------------------


class CloudFrontFunctionAssociation(_Frozen):
    cloudfront_function: Path
    runtime: Literal["cloudfront-js-1.0", "cloudfront-js-2.0"] = "cloudfront-js-2.0"
    kvs: Path | None = None  # a KeyValueStore in CloudFront's import JSON (runtime 2.0 only)
    name: str = ""

    @field_validator("cloudfront_function", "kvs")
    @classmethod
    def _resolve(cls, v: Path | None, info: ValidationInfo) -> Path | None:
        return None if v is None else (_base_dir(info) / v).resolve()

    @model_validator(mode="after")
    def _checks(self) -> CloudFrontFunctionAssociation:
        if self.kvs is not None and self.runtime != "cloudfront-js-2.0":
            raise ValueError(f"a KeyValueStore needs runtime 'cloudfront-js-2.0' ({cite('kvs-with-functions')})")
        if not self.name:
            object.__setattr__(self, "name", self.cloudfront_function.stem)
        return self

    @property
    def kind(self) -> Literal["cloudfront-function"]:
        return "cloudfront-function"


_NODE_EXT = (".js", ".mjs", ".cjs")


class LambdaFunctionAssociation(_Frozen):
    """A Lambda@Edge handler: `path/file.py:function`, `path/file.handler` (Lambda style) or `pkg.module:fn`."""

    handler: str = Field(alias="lambda")
    runtime: str = ""  # python3.x or nodejs<N>.x; inferred from the file when empty
    include_body: bool = False
    timeout: float | None = Field(default=None, gt=0)
    memory: int | None = Field(default=None, ge=128, le=10240)
    name: str = ""
    # resolved at load
    path: Path = Path()
    function: str = ""
    # A Python handler named by its dotted module path (`app.edge.viewer.handler`, `app.edge.viewer:fn`):
    # Lambda imports that module from the task root (`path` then lies under it), not the file alone.
    module: str = ""

    @field_validator("runtime")
    @classmethod
    def _edge_runtime(cls, v: str) -> str:
        # A field check, so that the problem names `.runtime`; "" is inferred from the file below.
        problem = lambda_edge_runtime_problem(v) if v else None
        if problem:
            raise ValueError(problem)
        return v

    @model_validator(mode="after")
    def _resolve_handler(self, info: ValidationInfo) -> LambdaFunctionAssociation:
        path, function, module = _locate_handler(self.handler, _base_dir(info))
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "function", function)
        object.__setattr__(self, "module", module)
        if not self.runtime:
            object.__setattr__(self, "runtime", "nodejs20.x" if path.suffix in _NODE_EXT else "python3.12")
        if self.runtime.startswith("python") != (path.suffix == ".py"):
            raise ValueError(f"runtime {self.runtime!r} does not match handler file {path.name}")
        if not self.name:
            object.__setattr__(self, "name", path.stem)
        return self

    @property
    def kind(self) -> Literal["lambda"]:
        return "lambda"

    @property
    def language(self) -> Literal["python", "node"]:
        return "python" if self.runtime.startswith("python") else "node"


def _locate_handler(spec: str, base: Path) -> tuple[Path, str, str]:
    """(file, function, dotted module or "") of a handler string, relative to `base`.

    Lambda's Python runtime reads `Handler: app.edge.viewer.lambda_handler` as module
    `app.edge.viewer` (split at the last dot) imported from the task root, so that module's package
    is importable (`from app.edge import helpers`); here that root is `base`. Node.js has no such
    form (its runtime splits at the first dot), so a dotted module is Python's only."""
    if ":" in spec:
        file, function = spec.rsplit(":", 1)
        candidates = [(file, "")]
        if Path(file).suffix not in (".py", *_NODE_EXT):  # a dotted module path, pkg.module:fn
            candidates.append((file.replace(".", "/") + ".py", file if "." in file else ""))
    else:
        if "." not in spec:
            raise ValueError(f"handler {spec!r} names no function; write 'path/file.py:handler'")
        stem, function = spec.rsplit(".", 1)
        candidates = [(stem + ext, "") for ext in (".py", *_NODE_EXT)]
        if "." in stem and "/" not in stem and "\\" not in stem:
            candidates.append((stem.replace(".", "/") + ".py", stem))
    for candidate, module in candidates:
        path = (base / candidate).resolve()
        if path.is_file():
            if not module and ":" not in spec and path.suffix == ".py" and "/" in stem:
                module = _package_module(stem, base)
            return path, function, module
    folder, _, name = spec.rpartition("/")
    if ":" not in spec and name.count(".") > 1:
        # Node.js splits at the first dot: `index.handlers.viewer` is index.js's handlers.viewer
        # (aws-lambda-nodejs-runtime-interface-client, UserFunction.js).
        file, nested = name.split(".", 1)
        for ext in _NODE_EXT:
            path = (base / folder / (file + ext)).resolve()
            if path.is_file():
                return path, nested, ""
    return (base / candidates[0][0]).resolve(), function, ""


def _package_module(stem: str, base: Path) -> str:
    """`app/edge/viewer` as module `app.edge.viewer` when app/ and app/edge/ are packages.

    Lambda imports `Handler: app/edge/viewer.lambda_handler` as `app.edge.viewer` from the task root
    (awslambdaric: the module name with '/' made '.'). Folders that are packages say the config's
    folder is that root; without __init__.py (functions/lambda/robots_txt.handler) the handler's
    own folder stays the root, the zip being that folder (our reading)."""
    parts = stem.split("/")
    if any(not p.isidentifier() for p in parts):
        return ""
    folder = base
    for part in parts[:-1]:
        folder = folder / part
        if not (folder / "__init__.py").is_file():
            return ""
    return ".".join(parts)


def _function_kind(value: Any) -> str | None:
    """Which association a table is, from its key, for the same reason as _origin_kind."""
    if isinstance(value, dict):
        if "cloudfront_function" in value:
            return "CloudFrontFunctionAssociation"
        return "LambdaFunctionAssociation" if "lambda" in value or "handler" in value else None
    return type(value).__name__


FunctionAssociation = Annotated[
    Union[Annotated[CloudFrontFunctionAssociation, Tag("CloudFrontFunctionAssociation")],
          Annotated[LambdaFunctionAssociation, Tag("LambdaFunctionAssociation")]],
    Discriminator(_function_kind, custom_error_type="function_kind",
                  custom_error_message="a function association needs `cloudfront_function` (a CloudFront "
                                       "Function) or `lambda` (a Lambda@Edge handler)"),
]


# --- cache behaviors --------------------------------------------------------------------------

_METHOD_SETS = (
    ("GET", "HEAD"),
    ("GET", "HEAD", "OPTIONS"),
    ("GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"),
)
_PATH_PATTERN = re.compile(r"[A-Za-z0-9_\-.*$/~\"'@:+&?]{1,255}")


class PublicKey(_Frozen):
    """A CloudFront public key: its id (what a signed URL's Key-Pair-Id names) and its PEM file."""

    id: str = Field(min_length=1)
    pem: Path

    @field_validator("pem")
    @classmethod
    def _rsa_public_key(cls, v: Path, info: ValidationInfo) -> Path:
        path = (_base_dir(info) / v).resolve()
        # Checked once at load, so a bad key is a config error, never a request's 500.
        from edgesim.signed_access import load_public_key
        load_public_key(path)
        return path


class KeyGroup(_Frozen):
    """A trusted key group (DG/private-content-trusted-signers): the public keys a behavior trusts."""

    id: str = Field(min_length=1)
    public_keys: tuple[PublicKey, ...] = Field(min_length=1)


class DefaultCacheBehavior(_Frozen):
    # The default behavior's pattern is fixed at `*` and matches last (spec §4.1).
    path_pattern: Literal["*"] = "*"
    target_origin: str
    viewer_protocol_policy: Literal["allow-all", "redirect-to-https", "https-only"] = "allow-all"
    allowed_methods: tuple[str, ...] = ("GET", "HEAD")
    cached_methods: tuple[str, ...] = ("GET", "HEAD")
    cache_policy: CachePolicy = managed_cache_policy("CachingOptimized")
    origin_request_policy: OriginRequestPolicy | None = None
    response_headers_policy: ResponseHeadersPolicy | None = None
    compress: bool = False
    functions: dict[EventType, FunctionAssociation] = {}
    # Restrict viewer access: ids of `key_groups` whose keys may sign URLs and cookies (signed_access.py).
    trusted_key_groups: tuple[str, ...] = ()

    @field_validator("allowed_methods", "cached_methods")
    @classmethod
    def _method_set(cls, v: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        upper = tuple(m.upper() for m in v)
        sets = _METHOD_SETS if info.field_name == "allowed_methods" else _METHOD_SETS[:2]
        for allowed in sets:
            if set(upper) == set(allowed):
                return allowed
        choices = " or ".join(str(list(s)) for s in sets)
        raise ValueError(f"CloudFront accepts only {choices}")

    @field_validator("cache_policy", mode="before")
    @classmethod
    def _cache_policy(cls, v: Any) -> Any:
        return managed_cache_policy(v) if isinstance(v, str) else v

    @field_validator("origin_request_policy", mode="before")
    @classmethod
    def _origin_request_policy(cls, v: Any) -> Any:
        return managed_origin_request_policy(v) if isinstance(v, str) else v

    @field_validator("response_headers_policy", mode="before")
    @classmethod
    def _response_headers_policy(cls, v: Any) -> Any:
        return managed_response_headers_policy(v) if isinstance(v, str) else v

    @model_validator(mode="after")
    def _cached_within_allowed(self) -> DefaultCacheBehavior:
        if not set(self.cached_methods) <= set(self.allowed_methods):
            raise ValueError("cached_methods must be a subset of allowed_methods")
        return self


class CacheBehavior(DefaultCacheBehavior):
    path_pattern: str  # type: ignore[assignment]

    @field_validator("path_pattern")
    @classmethod
    def _pattern(cls, v: str) -> str:
        # Spec §4.1: at most 255 characters from CloudFront's set.
        if not _PATH_PATTERN.fullmatch(v):
            raise ValueError(
                f"{v!r} is not a CloudFront path pattern: up to 255 of A-Z a-z 0-9 _ - . * ? $ / ~ \" ' @ : + &"
            )
        return v


class CustomErrorResponse(_Frozen):
    error_code: int = Field(ge=400, le=599)
    response_code: int | None = None
    response_page_path: str | None = None
    error_caching_min_ttl: int = Field(default=10, ge=0)

    @model_validator(mode="after")
    def _page_and_code(self) -> CustomErrorResponse:
        if (self.response_code is None) != (self.response_page_path is None):
            raise ValueError("response_code and response_page_path go together")
        if self.response_page_path is not None and not self.response_page_path.startswith("/"):
            raise ValueError("response_page_path must start with '/'")
        return self


class GeoRestriction(_Frozen):
    """Geographic restrictions (DG/georestrictions): viewers from the listed countries are the only
    ones served ("whitelist"), or the ones refused ("blacklist"), by the whole distribution.

    The values are CloudFront's API's (and CloudFormation's, Terraform's); the console's words
    "allowlist" and "blocklist" are taken too. Locations are ISO 3166-1 alpha-2 country codes."""

    restriction_type: Literal["none", "whitelist", "blacklist"] = "none"
    locations: tuple[str, ...] = ()

    @field_validator("restriction_type", mode="before")
    @classmethod
    def _console_words(cls, v: Any) -> Any:
        return {"allowlist": "whitelist", "blocklist": "blacklist"}.get(v, v) if isinstance(v, str) else v

    @field_validator("locations")
    @classmethod
    def _country_codes(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [code for code in v if not (len(code) == 2 and code.isascii() and code.isalpha())]
        if bad:
            raise ValueError(f"{bad} are not ISO 3166-1 alpha-2 country codes; write e.g. ['US', 'CA']")
        for code in v:  # "UK" (country_code_problem)
            if problem := country_code_problem(code):
                raise ValueError(problem)
        return tuple(code.upper() for code in v)

    @model_validator(mode="after")
    def _locations_match_type(self) -> GeoRestriction:
        # CloudFront's Quantity rule: countries with a whitelist or blacklist, none without one.
        if self.restriction_type == "none" and self.locations:
            raise ValueError('locations are given but restriction_type is "none"; '
                             'set restriction_type = "whitelist" or "blacklist"')
        if self.restriction_type != "none" and not self.locations:
            raise ValueError(f'a {self.restriction_type} needs at least one country in locations, e.g. ["US"]')
        return self


class DistributionConfig(_Frozen):
    """The whole distribution. `source` is the file it came from (None for config built in code)."""

    distribution: DistributionSettings = DistributionSettings()
    origins: tuple[_TaggedOrigin, ...] = Field(min_length=1)
    origin_groups: tuple[OriginGroup, ...] = ()
    default_cache_behavior: DefaultCacheBehavior
    cache_behaviors: tuple[CacheBehavior, ...] = ()
    custom_error_responses: tuple[CustomErrorResponse, ...] = ()
    key_groups: tuple[KeyGroup, ...] = ()
    geo_restriction: GeoRestriction = GeoRestriction()
    viewer: ViewerProfile = ViewerProfile()
    source: Path | None = Field(default=None, exclude=True)

    def behaviors(self) -> Iterator[DefaultCacheBehavior]:
        """Every behavior in CloudFront's matching order, the default last (spec §4.1)."""
        yield from self.cache_behaviors
        yield self.default_cache_behavior

    def origin_map(self) -> dict[str, Origin | OriginGroup]:
        return {o.id: o for o in (*self.origins, *self.origin_groups)}

    def function_associations(self) -> Iterator[tuple[str, EventType, CloudFrontFunctionAssociation | LambdaFunctionAssociation]]:
        for behavior in self.behaviors():
            for event_type, assoc in behavior.functions.items():
                yield behavior.path_pattern, event_type, assoc


# --- loading and the deploy-time checks -------------------------------------------------------


def default_config_path() -> Path:
    """The embedded default distribution: packaged under edgesim/samples, or samples/ in a checkout."""
    packaged = Path(str(resources.files("edgesim"))) / "samples" / CONFIG_FILENAME
    if packaged.is_file():
        return packaged
    return Path(__file__).resolve().parent.parent / "samples" / CONFIG_FILENAME


def find_config(explicit: Path | None = None) -> Path:
    """--config if given, else ./edgesim.toml if present, else the embedded default."""
    if explicit is not None:
        return explicit
    local = Path.cwd() / CONFIG_FILENAME
    return local if local.is_file() else default_config_path()


def read_user_text(path: Path, what: str) -> str:
    """The text of a file the user wrote; a ConfigError naming it when unreadable or not UTF-8."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {what}: {exc.strerror}", file=str(path)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{what} is not UTF-8 text (byte {exc.start}); save it as UTF-8", file=str(path)) from None


def load_config(path: Path | str) -> DistributionConfig:
    path = Path(path)
    text = read_user_text(path, "config")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        hint = ""
        if "Cannot overwrite a value" in str(exc):
            hint = (" - a key is set twice; a cache behavior takes at most one function per event type "
                    f"({cite('edge-function-restrictions-all')})")
        elif str(exc).startswith("Illegal character '\\n'"):
            hint = " - is a string's closing quote missing?"
        raise ConfigError(f"not valid TOML: {exc}{hint}{_excerpt(text, str(exc))}", file=str(path)) from None
    return parse_config(data, base_dir=path.resolve().parent, source=path)


def _excerpt(text: str, message: str) -> str:
    """The line tomllib's message points at, with a caret under the column: tomllib gives the place
    only in its message's text ("(at line 6, column 21)")."""
    found = re.search(r"\(at line (\d+), column (\d+)\)", message)
    lines = text.splitlines()
    if found is None or not 1 <= int(found[1]) <= len(lines):
        return ""
    number, column = int(found[1]), int(found[2])
    gutter = f"{number} | "
    return f"\n    {gutter}{lines[number - 1]}\n    {' ' * (len(gutter) - 2)}| {' ' * (column - 1)}^"


def parse_config(data: dict[str, Any], *, base_dir: Path, source: Path | None = None,
                 label: str | None = None) -> DistributionConfig:
    """Validate a config dict (from TOML or written in a test) and run CloudFront's deploy checks.

    `label` says where a dict with no file came from (a test's marker, say), in place of a file name
    at the head of each problem line."""
    file = str(source) if source else (label or "<config>")
    try:
        config = DistributionConfig.model_validate({**data, "source": source}, context={"base_dir": base_dir})
    except ValidationError as exc:
        errors: list[dict[str, Any]] = [dict(err) for err in exc.errors()]
        problems = [f"{file}: {_loc(loc)}: {msg}" for loc, msg in explain(errors, DistributionConfig)]
        raise ConfigError.many(problems) from None
    problems = [f"{file}: {p}" for p in deploy_problems(config)]
    if problems:
        raise ConfigError.many(problems)
    return config


# The tags of config's tagged unions (Tag(...) above): pydantic puts the member it tried in the
# location, a name the user never wrote. Any other capitalised part is a key the user wrote
# (`TargetOriginId`, copied from CloudFront's JSON) and is named.
_UNION_TAGS = frozenset({"CustomOrigin", "S3Origin", "CloudFrontFunctionAssociation", "LambdaFunctionAssociation"})


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        # "[key]": pydantic's mark for a bad dict key, which the location already names.
        if isinstance(part, str) and (part in _UNION_TAGS or part.startswith("function-") or part == "[key]"):
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


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
                yield f"{field}: function file not found: {assoc.cloudfront_function}"
            if assoc.kvs is not None and not assoc.kvs.is_file():
                yield f"{field}.kvs: KeyValueStore file not found: {assoc.kvs}"
            continue
        assert isinstance(assoc, LambdaFunctionAssociation)
        if event_type.is_viewer and has_cff:
            yield (f"{field}: a behavior with a CloudFront Function cannot also have a Lambda@Edge function "
                   f"on a viewer event ({cite('edge-function-restrictions-all')}); "
                   "move one of them or use an origin event for the Lambda")
        if not assoc.path.is_file():
            yield f"{field}: handler file not found: {assoc.path}"
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
