"""Restricted viewer access: signed URLs and signed cookies checked against trusted key groups.

CloudFront's rules (DG/private-content-signed-urls, DG/private-content-signed-cookies,
DG/private-content-creating-signed-url-canned-policy, ...-custom-policy):

- A signed URL carries `Expires` (canned policy) or `Policy` (custom policy), `Signature` and
  `Key-Pair-Id` as query parameters (and, in newer docs, `Hash-Algorithm=SHA256`); signed cookies carry
  the same values as `CloudFront-Expires` / `CloudFront-Policy` / `CloudFront-Signature` /
  `CloudFront-Key-Pair-Id`. A request with signed-URL parameters is judged by them, not by cookies.
- `Policy` and `Signature` use CloudFront's URL-safe base64: `+`->`-`, `=`->`_`, `/`->`~`.
- The signature is RSA PKCS#1 v1.5 over the policy JSON with SHA-1 (SHA-256 on request); a canned
  policy is the fixed JSON `{"Statement":[{"Resource":URL,"Condition":{"DateLessThan":{"AWS:EpochTime":N}}}]}`
  for the URL the viewer asked for, without the signing parameters.
- A custom policy's Resource may use `*` (zero or more characters) and `?` (exactly one); no Resource
  means every URL. DateLessThan is required: access ends at it; DateGreaterThan: access begins at it;
  IpAddress/AWS:SourceIp: the viewer's address must be in the CIDR, IPv4 only ("IPv6 ... not
  supported"). "You can include only one statement": a policy with more is malformed (UNCERTAIN).
- Refusals are 403 with an XML body (errors.AccessDenied), its Code and Message as CloudFront's
  captured answers give them (re:Post knowledge-center/cloudfront-troubleshoot-signed-url-cookies; 403
  bodies printed in aobao32/cloudfront-signature-demo's walkthrough and in Strava tile fetchers):
  `MissingKey` "Missing Key-Pair-Id query parameter or cookie value"; `InvalidKey` "Unknown Key" (a key
  id no trusted key group of the behavior holds); `MalformedSignature` "Could not unencode Signature"
  (a Signature that is not CloudFront's base64); `MalformedPolicy` "Malformed Policy"; `AccessDenied`
  "Access denied" for the rest (expired, not yet valid, wrong address, wrong resource, a signature that
  does not verify). UNCERTAIN: whether CloudFront names a missing Signature or Expires apart (we answer
  AccessDenied), and which check comes first when several fail (we take: key id, policy, signature).

UNCERTAIN (docs are silent): the check runs after the behavior is chosen and the method allowed,
before any viewer-request function (a refused request runs no function and reaches no origin).
The signing parameters are removed from the query once checked, so the viewer-request function, the
cache key and the origin never see them (projectNEWM/newm-server#272 reports CloudFront strips
Policy, Key-Pair-Id and Signature before the origin; for the cache key and functions: UNCERTAIN).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from edgesim import function_json
from edgesim.cache_key import parse_cookies
from edgesim.errors import AccessDenied
from edgesim.messages import Request

SIGNING_PARAMS = frozenset({"Expires", "Policy", "Signature", "Key-Pair-Id", "Hash-Algorithm"})
COOKIE_PREFIX = "CloudFront-"
MISSING_KEY = "Missing Key-Pair-Id query parameter or cookie value"
UNKNOWN_KEY = "Unknown Key"
UNENCODABLE_SIGNATURE = "Could not unencode Signature"
_TO_STANDARD = str.maketrans("-_~", "+=/")
_TO_CLOUDFRONT = str.maketrans("+=/", "-_~")
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"SHA1": hashes.SHA1, "SHA256": hashes.SHA256}

TrustedKeys = Mapping[str, rsa.RSAPublicKey]


def load_public_key(path: Path) -> rsa.RSAPublicKey:
    """The RSA public key in a PEM file; ValueError (a config problem) when it is not one."""
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except OSError as exc:
        raise ValueError(f"cannot read public key {path}: {exc.strerror}") from None
    except ValueError:
        raise ValueError(f"{path} is not a PEM public key (-----BEGIN PUBLIC KEY-----)") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError(f"{path}: CloudFront public keys are RSA keys")
    return key


def trusted_keys(key_groups: Any, trusted: tuple[str, ...]) -> dict[str, rsa.RSAPublicKey]:
    """Public key id -> key, over the key groups a behavior trusts (loaded once per config)."""
    out: dict[str, rsa.RSAPublicKey] = {}
    for group in key_groups:
        if group.id in trusted:
            for key in group.public_keys:
                out[key.id] = load_public_key(key.pem)
    return out


def cloudfront_b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").translate(_TO_CLOUDFRONT)


def cloudfront_b64decode(text: str) -> bytes:
    return base64.b64decode(text.translate(_TO_STANDARD), validate=True)


def check_viewer_access(request: Request, keys: TrustedKeys, *, now: float) -> None:
    """Raise AccessDenied unless `request` carries a valid signed URL or signed cookies; on success
    remove the signing parameters from its query."""
    kept, signed = _split_query(request.querystring)
    if signed:
        values = signed
    else:
        values = {name.removeprefix(COOKIE_PREFIX): value for name, value in parse_cookies(request.headers)
                  if name.startswith(COOKIE_PREFIX)}
    key_id = values.get("Key-Pair-Id", "")
    if not key_id:
        raise AccessDenied(MISSING_KEY, code="MissingKey")
    key = keys.get(key_id)
    if key is None:
        raise AccessDenied(UNKNOWN_KEY, code="InvalidKey")
    host = request.headers.get("host") or ""
    url = f"{request.scheme}://{host}{request.uri}" + (f"?{kept}" if kept else "")
    if values.get("Policy"):
        try:
            policy_bytes = cloudfront_b64decode(values["Policy"])
            policy = function_json.loads(policy_bytes)  # bounded depth: the viewer wrote it
        except (binascii.Error, ValueError):
            raise AccessDenied("Malformed Policy", code="MalformedPolicy") from None
    elif values.get("Expires", "").isdigit():
        policy_bytes = canned_policy(url, int(values["Expires"])).encode()
        policy = json.loads(policy_bytes)
    else:
        raise AccessDenied()
    _verify(key, policy_bytes, values.get("Signature", ""), values.get("Hash-Algorithm", "SHA1"))
    _evaluate(policy, url, request.client_ip, now)
    if signed:
        request.querystring = kept


def _split_query(query: str) -> tuple[str, dict[str, str]]:
    """(the query without the signing parameters, in its order; the signing parameters, decoded)."""
    if not query:
        return "", {}
    kept: list[str] = []
    signed: dict[str, str] = {}
    for part in query.split("&"):
        name, _, value = part.partition("=")
        if name in SIGNING_PARAMS:
            signed[name] = unquote(value)
        else:
            kept.append(part)
    return "&".join(kept), signed


def _verify(key: rsa.RSAPublicKey, policy: bytes, signature: str, algorithm: str) -> None:
    digest = _HASHES.get(algorithm.upper())
    if not signature or digest is None:
        raise AccessDenied()
    try:
        raw = cloudfront_b64decode(signature)
    except (binascii.Error, ValueError):
        # Not CloudFront's base64 at all: CloudFront names this apart from a signature that does
        # not verify (MalformedSignature, see the module's docstring).
        raise AccessDenied(UNENCODABLE_SIGNATURE, code="MalformedSignature") from None
    try:
        key.verify(raw, policy, padding.PKCS1v15(), digest())
    except (ValueError, InvalidSignature):
        raise AccessDenied() from None


def _evaluate(policy: Any, url: str, client_ip: str, now: float) -> None:
    """The policy's statement against the request (DG/private-content-creating-signed-url-custom-policy)."""
    resource, less_than, greater_than, source = _read_policy(policy)
    if resource is not None and not _resource_pattern(resource).fullmatch(url):
        raise AccessDenied()
    if not now < less_than:
        raise AccessDenied()
    if greater_than is not None and now < greater_than:
        raise AccessDenied()
    if source is not None and not _inside(client_ip, source):
        raise AccessDenied()


def _inside(client_ip: str, source: str) -> bool:
    """Whether the viewer's address is in the policy's AWS:SourceIp. IPv4 only: "IP addresses in IPv6
    format ... are not supported" (DG/private-content-creating-signed-url-custom-policy, IpAddress), so
    an IPv6 range grants nobody and an IPv6 viewer matches no range. UNCERTAIN: whether CloudFront calls
    an IPv6 range a malformed policy instead; either way the viewer gets a 403."""
    try:
        network = ipaddress.ip_network(source, strict=False)
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return False
    return isinstance(network, ipaddress.IPv4Network) and address in network


def _read_policy(policy: Any) -> tuple[str | None, float, float | None, str | None]:
    """(Resource, DateLessThan, DateGreaterThan, AWS:SourceIp) of the one statement, each of the
    type the docs give it; a policy of any other shape is MalformedPolicy (the viewer wrote it, so it
    must never reach edgesim as an exception)."""
    try:
        statements = policy["Statement"]
        # "You can include only one statement" (DG/private-content-creating-signed-url-custom-policy).
        # UNCERTAIN what CloudFront answers to more; we refuse the policy rather than read the first.
        if not isinstance(statements, list) or len(statements) != 1:
            raise TypeError
        statement = statements[0]
        condition = statement["Condition"]
        if not isinstance(statement, dict) or not isinstance(condition, dict):
            raise TypeError
        resource = statement.get("Resource")
        less_than = _epoch(condition["DateLessThan"])
        greater_than = _epoch(condition["DateGreaterThan"]) if "DateGreaterThan" in condition else None
        source = condition["IpAddress"]["AWS:SourceIp"] if "IpAddress" in condition else None
        if not isinstance(resource, (str, type(None))) or not isinstance(source, (str, type(None))):
            raise TypeError
    except (KeyError, IndexError, TypeError):
        raise AccessDenied("Malformed Policy", code="MalformedPolicy") from None
    return resource, less_than, greater_than, source


def _epoch(condition: Any) -> float:
    """`{"AWS:EpochTime": seconds}`: a number (TypeError for anything else)."""
    value = condition["AWS:EpochTime"]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError
    return float(value)


@lru_cache(maxsize=256)
def _resource_pattern(resource: str) -> re.Pattern[str]:
    # `*` is zero or more characters, `?` exactly one; everything else is literal. Memoised: the
    # same few policies come back on every request.
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in resource),
                      re.DOTALL)


def canned_policy(url: str, expires: int) -> str:
    """The canned policy statement CloudFront signs and checks, without whitespace."""
    return json.dumps({"Statement": [{"Resource": url, "Condition": {"DateLessThan": {"AWS:EpochTime": expires}}}]},
                      separators=(",", ":"))


# --- signing, for tests and tools -------------------------------------------------------------


def sign(private_key_pem: bytes | str, data: bytes, hash_algorithm: str = "SHA1") -> str:
    """CloudFront's URL-safe base64 of the RSA PKCS#1 v1.5 signature of `data`."""
    pem = private_key_pem.encode() if isinstance(private_key_pem, str) else private_key_pem
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("CloudFront signs with RSA keys")
    return cloudfront_b64encode(key.sign(data, padding.PKCS1v15(), _HASHES[hash_algorithm.upper()]()))


def signed_values(url: str, private_key_pem: bytes | str, *, expires: int | None = None,
                  policy: Mapping[str, Any] | str | None = None, hash_algorithm: str = "SHA1") -> dict[str, str]:
    """Expires or Policy, Signature (and Hash-Algorithm when not SHA1) for `url`: a canned policy
    when `expires` is given, else the custom `policy` (a dict or its JSON text)."""
    if policy is not None:
        text = policy if isinstance(policy, str) else json.dumps(policy, separators=(",", ":"))
        out = {"Policy": cloudfront_b64encode(text.encode()), "Signature": sign(private_key_pem, text.encode(),
                                                                                   hash_algorithm)}
    elif expires is not None:
        out = {"Expires": str(expires),
               "Signature": sign(private_key_pem, canned_policy(url, expires).encode(), hash_algorithm)}
    else:
        raise ValueError("give expires (a canned policy) or policy (a custom policy)")
    if hash_algorithm.upper() != "SHA1":
        out["Hash-Algorithm"] = hash_algorithm.upper()
    return out


def sign_url(url: str, key_pair_id: str, private_key_pem: bytes | str, *, expires: int | None = None,
             policy: Mapping[str, Any] | str | None = None, hash_algorithm: str = "SHA1") -> str:
    """`url` signed as CloudFront's signed URL: a canned policy with `expires` (epoch seconds), or
    a custom `policy` (whose Resource may differ from `url`, wildcards and all)."""
    values = signed_values(url, private_key_pem, expires=expires, policy=policy, hash_algorithm=hash_algorithm)
    values["Key-Pair-Id"] = key_pair_id
    query = "&".join(f"{name}={value}" for name, value in values.items())
    return f"{url}{'&' if '?' in url else '?'}{query}"


def signed_cookies(url: str, key_pair_id: str, private_key_pem: bytes | str, *, expires: int | None = None,
                   policy: Mapping[str, Any] | str | None = None, hash_algorithm: str = "SHA1") -> dict[str, str]:
    """The CloudFront-* cookies that grant `url` (or the custom policy's Resource) to a viewer."""
    values = signed_values(url, private_key_pem, expires=expires, policy=policy, hash_algorithm=hash_algorithm)
    values["Key-Pair-Id"] = key_pair_id
    return {COOKIE_PREFIX + name: value for name, value in values.items()}
