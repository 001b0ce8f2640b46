"""The cloudfront module's origin helpers, applied to the Request's origin (spec §1.7).

The function records the call (prelude.js); this turns it into a configured Origin
(selectRequestOriginById), a CustomOrigin whose unspecified fields come from the current origin
(updateRequestOrigin) or an OriginGroup (createRequestOriginGroup).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from edgesim.cloudfront_functions.output import InvalidOutput
from edgesim.messages import Request
from edgesim.origin_config import CustomOrigin, Origin, OriginGroup, S3Origin


def apply_origin_change(request: Request, change: dict[str, Any], origins: Mapping[str, Origin | OriginGroup]) -> None:
    kind, args = change["kind"], change["args"]
    try:
        if kind == "selectRequestOriginById":
            request.origin = _select(args[0], origins)
            request.origin_host_header = _host_header(kind, args[1])
        elif kind == "updateRequestOrigin":
            request.origin = _update(request.origin, args[0], origins)
            request.origin_host_header = _host_header(kind, args[0])
        elif kind == "createRequestOriginGroup":
            request.origin = _group(args[0], origins)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidOutput(f"cf.{kind}: {first['msg'].removeprefix('Value error, ')}") from None


def _host_header(kind: str, params: Any) -> str | None:
    """The `hostHeader` the origin gets as Host instead of what the policies say (spec §1.7)."""
    value = params.get("hostHeader") if isinstance(params, dict) else None
    if value is None:
        return None
    if not isinstance(value, str) or not value or any(c.isspace() or ord(c) < 32 for c in value):
        raise InvalidOutput(f"cf.{kind}: hostHeader must be a host name, got {value!r}")
    return value


def _select(origin_id: Any, origins: Mapping[str, Origin | OriginGroup]) -> Origin:
    origin = origins.get(origin_id) if isinstance(origin_id, str) else None
    if origin is None or isinstance(origin, OriginGroup):
        known = sorted(k for k, v in origins.items() if not isinstance(v, OriginGroup))
        raise InvalidOutput(f"cf.selectRequestOriginById: no origin with id {origin_id!r}; known: {known}")
    return origin


def _update(current: Origin | OriginGroup | None, params: Any, origins: Mapping[str, Origin | OriginGroup]) -> Origin:
    if not isinstance(params, dict):
        raise InvalidOutput("cf.updateRequestOrigin takes an object of origin settings")
    if isinstance(current, OriginGroup):
        # Only the primary of a group is changed (spec §1.7). edgesim simplification: the request
        # then goes to the changed primary alone, without failover.
        current = _select(current.primary, origins)
    if current is None:
        raise InvalidOutput("cf.updateRequestOrigin: the request has no origin to update")
    origin_path = params.get("originPath")
    if origin_path is not None and (not isinstance(origin_path, str) or not origin_path.startswith("/")
                                    or origin_path.endswith("/") or len(origin_path) > 255):
        raise InvalidOutput("cf.updateRequestOrigin: originPath must start with '/', not end with '/', and be at most 255 characters")
    headers = params.get("customHeaders")
    if headers is not None and (not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values())):
        raise InvalidOutput("cf.updateRequestOrigin: customHeaders must be a flat {\"name\": \"value\"} object")
    attempts = params.get("connectionAttempts")
    domain = params.get("domainName")
    if domain is not None and (not isinstance(domain, str) or ":" in domain or not domain or len(domain) > 253):
        raise InvalidOutput("cf.updateRequestOrigin: domainName must be a host name (no port, at most 253 characters)")
    if isinstance(current, S3Origin) and domain is None:
        update: dict[str, Any] = {}
        if origin_path is not None:
            update["path"] = origin_path
        if headers is not None:
            update["custom_headers"] = headers
        return S3Origin.model_validate({**current.model_dump(), **update})
    custom = params.get("customOriginConfig") or {}
    base_protocol = current.protocol if isinstance(current, CustomOrigin) else "https"
    protocol = custom.get("protocol", base_protocol)
    port = custom.get("port", current.port if isinstance(current, CustomOrigin) and protocol == base_protocol else None)
    host = domain or current.domain_name
    path = origin_path if origin_path is not None else current.path
    url = f"{protocol}://{host}" + (f":{port}" if port else "") + path
    timeouts = params.get("timeouts") or {}
    fields: dict[str, Any] = {"id": current.id, "url": url,
                              "custom_headers": headers if headers is not None else current.custom_headers}
    if isinstance(current, CustomOrigin):
        fields.update(connect_timeout=current.connect_timeout, read_timeout=current.read_timeout,
                      keepalive_timeout=current.keepalive_timeout, connection_attempts=current.connection_attempts)
    for key, name in (("connectionTimeout", "connect_timeout"), ("readTimeout", "read_timeout"), ("keepAliveTimeout", "keepalive_timeout")):
        if key in timeouts:
            fields[name] = timeouts[key]
    if attempts is not None:
        fields["connection_attempts"] = attempts
    return CustomOrigin.model_validate(fields)


def _group(params: Any, origins: Mapping[str, Origin | OriginGroup]) -> OriginGroup:
    if not isinstance(params, dict) or not isinstance(params.get("originIds"), list) or len(params["originIds"]) != 2:
        raise InvalidOutput("cf.createRequestOriginGroup: originIds must list exactly two origins, primary first")
    # The docs' text and example disagree on strings vs {originId} objects: accept both (spec §1.7).
    ids = [item.get("originId") if isinstance(item, dict) else item for item in params["originIds"]]
    for origin_id in ids:
        _select(origin_id, origins)
    criteria = params.get("failoverCriteria") or {}
    codes = criteria.get("statusCodes", [500, 502, 503, 504])
    return OriginGroup.model_validate({"id": f"{ids[0]}+{ids[1]}", "primary": ids[0], "secondary": ids[1],
                                       "failover_status_codes": codes})
