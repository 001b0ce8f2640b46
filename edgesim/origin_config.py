"""The config's origins: custom (HTTP) origins, local folders served as S3 origins, origin groups.

Each is a frozen pydantic model of a table in `[[origins]]` / `[[origin_groups]]`; a `[[origins]]`
table is told apart by its key (`url` or `directory`), so a problem in it is named in its kind's terms.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Union
from urllib.parse import urlsplit

from pydantic import Discriminator, Field, Tag, ValidationInfo, field_validator, model_validator

from edgesim.config_base import Frozen, base_dir
from edgesim.docs_links import cite

# "Custom headers that CloudFront can't add to origin requests" (DG/add-origin-custom-headers; spec
# §2.3's deny-list), names lowercase; X-Amz-* and X-Edge-* by prefix. A Lambda@Edge function's
# customHeaders are held to the same list (lambda_edge/validation.py).
CUSTOM_HEADER_DENY = frozenset({
    "cache-control", "connection", "content-length", "cookie", "host", "if-match", "if-modified-since",
    "if-none-match", "if-range", "if-unmodified-since", "max-forwards", "pragma", "proxy-authorization",
    "proxy-connection", "range", "request-range", "te", "trailer", "transfer-encoding", "upgrade", "via",
    "x-real-ip",
})
CUSTOM_HEADER_DENY_PREFIXES = ("x-amz-", "x-edge-")


def custom_header_refused(name: str) -> bool:
    """Whether CloudFront refuses `name` as an origin custom header (any case)."""
    lower = name.lower()
    return lower in CUSTOM_HEADER_DENY or lower.startswith(CUSTOM_HEADER_DENY_PREFIXES)


def _allowed_custom_headers(headers: dict[str, str]) -> dict[str, str]:
    """An origin's `custom_headers`, refused as CloudFront refuses them at deploy time."""
    for name in headers:
        if custom_header_refused(name):
            raise ValueError(
                f"{name!r} cannot be an origin custom header: CloudFront does not add Host, Cookie, "
                "Cache-Control, Content-Length, Transfer-Encoding, the conditional and hop-by-hop headers, "
                f"Via, X-Real-Ip or X-Amz-* / X-Edge-* to origin requests ({cite('add-origin-custom-headers')}); "
                "to send one, forward the viewer's with an origin request policy or, where Lambda@Edge allows it, "
                "set it in an origin-request function")
    return headers


class CustomOrigin(Frozen):
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

    _custom_headers = field_validator("custom_headers")(_allowed_custom_headers)

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme == "s3":  # an https bucket endpoint is a custom origin like any other: proxied
            raise ValueError(f"{v!r} is an S3 bucket, which edgesim serves from a local folder: write "
                             "directory = \"path/to/the/files\" in place of url")
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


class S3Origin(Frozen):
    """An S3-style origin served from a local directory, answering as S3 would."""

    id: str
    directory: Path
    domain_name: str = ""
    custom_headers: dict[str, str] = {}
    region: str = "us-east-1"
    path: str = ""

    _custom_headers = field_validator("custom_headers")(_allowed_custom_headers)

    @field_validator("directory")
    @classmethod
    def _resolve(cls, v: Path, info: ValidationInfo) -> Path:
        return (base_dir(info) / v).resolve()

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
        if "url" in value and "directory" in value:
            return None  # both: told as such (config_errors._kind_message), not as an unknown key
        return "CustomOrigin" if "url" in value else "S3Origin" if "directory" in value else None
    return type(value).__name__


# The tags are the classes' names: config._loc leaves them out of a problem's location (_UNION_TAGS).
TaggedOrigin = Annotated[
    Union[Annotated[CustomOrigin, Tag("CustomOrigin")], Annotated[S3Origin, Tag("S3Origin")]],
    Discriminator(_origin_kind, custom_error_type="origin_kind",
                  custom_error_message="an origin needs `url` (a custom origin) or `directory` "
                                       "(a local folder served as an S3 origin)"),
]


class OriginGroup(Frozen):
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
