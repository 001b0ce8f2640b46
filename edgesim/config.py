"""Frozen pydantic models of a distribution, and load_config(); every error names file and field.

The TOML mirrors CloudFront's DistributionConfig in snake_case. Loading starts nothing: the
Simulator materialises runtimes, origins and the cache from these values. The origins
(origin_config.py), the function associations (function_associations.py) and the checks run once a
config has loaded (config_checks.py) have modules of their own; their public names are imported
here too, where they were first, so `from edgesim.config import ...` still finds them.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator

from edgesim.config_base import Frozen, base_dir
from edgesim.config_checks import config_warnings as config_warnings
from edgesim.config_checks import deploy_problems as deploy_problems
from edgesim.config_checks import lambda_limits as lambda_limits
from edgesim.config_errors import explain
from edgesim.docs_links import cite
from edgesim.errors import ConfigError
from edgesim.function_associations import CloudFrontFunctionAssociation as CloudFrontFunctionAssociation
from edgesim.function_associations import FunctionAssociation as FunctionAssociation
from edgesim.function_associations import LambdaFunctionAssociation as LambdaFunctionAssociation
from edgesim.messages import EventType
from edgesim.origin_config import CustomOrigin as CustomOrigin
from edgesim.origin_config import Origin as Origin
from edgesim.origin_config import OriginGroup as OriginGroup
from edgesim.origin_config import S3Origin as S3Origin
from edgesim.origin_config import TaggedOrigin
from edgesim.policies import (
    CachePolicy,
    OriginRequestPolicy,
    ResponseHeadersPolicy,
    managed_cache_policy,
    managed_origin_request_policy,
    managed_response_headers_policy,
)

# The names these had here before config_base.py held them.
_Frozen = Frozen
_base_dir = base_dir

CONFIG_FILENAME = "edgesim.toml"


# --- distribution-wide settings ---------------------------------------------------------------


class DistributionSettings(Frozen):
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
    # Python Lambda@Edge handlers may import every package edgesim's interpreter has installed. Off
    # by default: a handler then imports what Lambda@Edge gives it, its own folder, the standard
    # library and the runtime's AWS SDK (lambda_edge/python_packages.py), so a library left out of
    # its package fails here as there (Runtime.ImportModuleError).
    lambda_python_site_packages: bool = False
    # Lambda@Edge workers per handler at most, each running one invocation at a time: Lambda gives
    # each concurrent request an execution environment of its own (spec §2.7); on a small machine
    # more worker processes than cores only cost CPU, so a user may cap them (issue 6).
    lambda_max_workers: int = Field(default=4, ge=1, le=64)
    # Clear the edge cache when the config is reloaded.
    clear_cache_on_reload: bool = True
    # Request collapsing: simultaneous misses for one cache key share the first one's origin fetch
    # (request_collapsing.py). false sends each to the origin, as edgesim did before.
    request_collapsing: bool = True
    # MiB of cached bodies the edge cache holds in memory, least recently used evicted first; a body
    # over 8 MiB (or over this whole budget) is kept in a temp file instead (cache_files.py).
    cache_memory_limit_mb: int = Field(default=256, ge=1, le=1 << 20)
    # MiB of cached bodies the edge cache keeps in those temp files, least recently used evicted
    # first; an object larger than this is served but not cached.
    cache_disk_limit_mb: int = Field(default=2048, ge=1, le=1 << 30)
    # The object a request for the root URL gets ("index.html", "app/start.html"); "" for none
    # (pipeline.Pipeline.handle applies it).
    default_root_object: str = ""

    @field_validator("default_root_object")
    @classmethod
    def _an_object_name(cls, value: str) -> str:
        # CloudFront's API reference: the name "can't begin with a forward slash"; one that did
        # would never name the object meant.
        if value.startswith("/"):
            raise ValueError(f"{value!r} begins with '/': name the object without it, {value.lstrip('/')!r} "
                             "(CloudFront's DefaultRootObject takes no leading slash)")
        return value


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


class ViewerProfile(Frozen):
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


# --- cache behaviors --------------------------------------------------------------------------

_METHOD_SETS = (
    ("GET", "HEAD"),
    ("GET", "HEAD", "OPTIONS"),
    ("GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"),
)
_PATH_PATTERN = re.compile(r"[A-Za-z0-9_\-.*$/~\"'@:+&?]{1,255}")


class PublicKey(Frozen):
    """A CloudFront public key: its id (what a signed URL's Key-Pair-Id names) and its PEM file."""

    id: str = Field(min_length=1)
    pem: Path

    @field_validator("pem")
    @classmethod
    def _rsa_public_key(cls, v: Path, info: ValidationInfo) -> Path:
        path = (base_dir(info) / v).resolve()
        # Checked once at load, so a bad key is a config error, never a request's 500.
        from edgesim.signed_access import load_public_key
        load_public_key(path)
        return path


class KeyGroup(Frozen):
    """A trusted key group (DG/private-content-trusted-signers): the public keys a behavior trusts."""

    id: str = Field(min_length=1)
    public_keys: tuple[PublicKey, ...] = Field(min_length=1)


class DefaultCacheBehavior(Frozen):
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


class CustomErrorResponse(Frozen):
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


class GeoRestriction(Frozen):
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


class DistributionConfig(Frozen):
    """The whole distribution. `source` is the file it came from (None for config built in code)."""

    distribution: DistributionSettings = DistributionSettings()
    origins: tuple[TaggedOrigin, ...] = Field(min_length=1)
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


# --- loading ----------------------------------------------------------------------------------


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


def config_above(folder: Path) -> Path | None:
    """The nearest edgesim.toml in a parent of `folder`: the project a command run from one of its
    subfolders (functions/) probably meant, where it got the embedded default."""
    for parent in folder.resolve().parents:
        candidate = parent / CONFIG_FILENAME
        if candidate.is_file():
            return candidate
    return None


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
        other = _other_format(path, text)
        if other is not None:
            raise ConfigError(other, file=str(path)) from None
        # tomllib gives the place only in its message: put it at the head too, FILE:LINE:COLUMN, as
        # check places every other problem (editors and CI problem matchers read it there).
        at = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        file = f"{path}:{at[1]}:{at[2]}" if at is not None else str(path)
        raise ConfigError(f"not valid TOML: {exc}{hint}{_excerpt(text, str(exc))}", file=file) from None
    return parse_config(data, base_dir=path.resolve().parent, source=path, text=text)


_FORMATS = {".json": "JSON", ".yaml": "YAML", ".yml": "YAML", ".tf": "Terraform"}


def _other_format(path: Path, text: str) -> str | None:
    """A file that is not TOML at all, given as the config: a cases file, or a distribution in a
    format `edgesim import` reads (where tomllib's first complaint says nothing of that)."""
    if re.search(r"^cases\s*:", text, re.MULTILINE):
        return f"this is an `edgesim test` cases file, not a config: run it with `edgesim test {path}`"
    kind = _FORMATS.get(path.suffix.lower()) or ("JSON" if text.lstrip().startswith("{") else None)
    if kind is None:
        return None
    return (f"this is {kind}; the config is TOML (edgesim.toml): `edgesim import {path}` writes one from a "
            "distribution config, a CloudFormation / CDK template, Terraform or a serverless.yml")


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
                 label: str | None = None, text: str | None = None) -> DistributionConfig:
    """Validate a config dict (from TOML or written in a test) and run CloudFront's deploy checks.

    `label` says where a dict with no file came from (a test's marker, say), in place of a file name
    at the head of each problem line. `text` is the TOML the user wrote, when `data` was read from
    it: each problem is then placed FILE:LINE, where its field's line can be told."""
    file = str(source) if source else (label or "<config>")
    try:
        config = DistributionConfig.model_validate({**data, "source": source}, context={"base_dir": base_dir})
    except ValidationError as exc:
        errors: list[dict[str, Any]] = [dict(err) for err in exc.errors()]
        found = explain(errors, DistributionConfig)
        at = _placer(file, text, data)
        raise ConfigError.many([f"{at(_key_path(loc))}: {_loc(loc)}: {msg}" for loc, msg in found]) from None
    problems = deploy_problems(config)
    if problems:
        at = _placer(file, text, data)
        raise ConfigError.many([f"{at(_problem_path(p))}: {p}" for p in problems])
    return config


def _placer(file: str, text: str | None, data: dict[str, Any]) -> Callable[[tuple[str | int, ...] | None], str]:
    """FILE:LINE for a field's path (FILE alone where its line cannot be told), as check places every
    other problem, for editors' and CI problem matchers. Built only once there are problems: the
    syntax tree it reads costs a parse a good config never pays."""
    if text is None:  # a dict written in code, or a config imported from elsewhere: no TOML of the user's
        return lambda path: file
    from edgesim.config_lines import config_lines

    lines = config_lines(text, data)

    def at(path: tuple[str | int, ...] | None) -> str:
        line = lines.line_of(path) if path is not None else None
        return f"{file}:{line}" if line is not None else file

    return at


# The tags of config's tagged unions (Tag(...) above): pydantic puts the member it tried in the
# location, a name the user never wrote. Any other capitalised part is a key the user wrote
# (`TargetOriginId`, copied from CloudFront's JSON) and is named.
_UNION_TAGS = frozenset({"CustomOrigin", "S3Origin", "CloudFrontFunctionAssociation", "LambdaFunctionAssociation"})


def _key_path(loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    """A pydantic location as the keys and indexes the user wrote, without pydantic's own parts."""
    # "[key]": pydantic's mark for a bad dict key, which the location already names.
    return tuple(part for part in loc if not (isinstance(part, str) and (
        part in _UNION_TAGS or part.startswith("function-") or part == "[key]")))


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in _key_path(loc):
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# The field a deploy problem (config_checks.py) starts with: `cache_behaviors[2].functions.viewer-request: `.
_FIELD = re.compile(r"([A-Za-z_][\w-]*(?:\[\d+\])*(?:\.[\w-]+(?:\[\d+\])*)*): ")


def _problem_path(problem: str) -> tuple[str | int, ...] | None:
    """The path of the field a deploy problem names, as _loc wrote it; None when it names none."""
    field = _FIELD.match(problem)
    if field is None:
        return None
    return tuple(int(part[1:-1]) if part.startswith("[") else part
                 for part in re.findall(r"\[\d+\]|[^.\[\]]+", field[1]))
