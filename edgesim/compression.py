"""Compress objects automatically: CloudFront's edge compression (Gzip and Brotli) for a cache behavior.

The rules are those of AWS's "Serve compressed files" page (DG/ServingCompressedFiles: "How
CloudFront compression works", "Conditions for compression", "File types that CloudFront
compresses", "ETag header conversion"), cited below as [SCF]. CloudFront compresses an object when
all of these hold:

- the cache behavior has Compress objects automatically (`compress = true`), and its cache policy
  enables Gzip and/or Brotli (EnableAcceptEncodingGzip / EnableAcceptEncodingBrotli) [SCF configure];
- the viewer's Accept-Encoding, normalised as for the cache key (spec §4.2), names `gzip` or `br`
  that the policy enables; Brotli when both [SCF how it works, step 1];
- the request is not HTTP/1.0, and the cache policy does not list Accept-Encoding among its headers
  [SCF conditions; the second from an earlier version of the page];
- the response has no Content-Encoding, whatever its value [SCF conditions];
- its Content-Type is on CloudFront's list [SCF file types];
- its Content-Length is present, valid, and 1,000 to 10,000,000 bytes [SCF conditions; spec §4.3];
- its status is 200, 403 or 404, and it has a body [SCF conditions].

Where (spec §3.1's "origin-response -> store in cache"): between the two, so the cache keeps the
compressed copy under the key carrying the normalised Accept-Encoding (spec §4.2) and later hits serve it
without compressing again [SCF steps 2-6]; viewer-response sees the compressed response. The docs
do not place compression relative to the origin-response trigger; we read it as "CloudFront
compresses it, sends it to the viewer, and then adds it to the cache" [SCF step 6], with
origin-response running "before it caches the object" (DG/lambda-cloudfront-trigger-events), and
Lambda@Edge viewer-response seeing Content-Encoding and Content-Length read-only (spec §1.4, §2.6),
which fits CloudFront having set them already. UNCERTAIN.

Also UNCERTAIN, where the docs are silent: a response generated at origin-request and a custom
error page (fetched outside the request flow) are not compressed; no `Vary` is added;
and a viewer accepting both codings gets Brotli compressed for its own key, where [SCF step 7] hints
that CloudFront may serve such a viewer a gzip copy already cached.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass

import brotli  # type: ignore[import-untyped]  # the Brotli bindings ship no type hints

from edgesim.cache_key import normalize_accept_encoding
from edgesim.config import DefaultCacheBehavior
from edgesim.messages import Request, Response

# [SCF conditions]: "between 1,000 bytes and 10,000,000 bytes"; we read both ends as included.
MIN_SIZE = 1_000
MAX_SIZE = 10_000_000
# [SCF conditions]: "only when the HTTP status code of the response is 200, 403, or 404".
COMPRESSED_STATUSES = frozenset({200, 403, 404})

# [SCF file types]: the Content-Type values CloudFront compresses, as AWS lists them.
COMPRESSED_TYPES = frozenset({
    "application/dash+xml", "application/eot", "application/font", "application/font-sfnt",
    "application/javascript", "application/json", "application/opentype", "application/otf",
    "application/pdf", "application/pkcs7-mime", "application/protobuf", "application/rss+xml",
    "application/truetype", "application/ttf", "application/vnd.apple.mpegurl",
    "application/vnd.mapbox-vector-tile", "application/vnd.ms-fontobject", "application/wasm",
    "application/xhtml+xml", "application/xml", "application/x-font-opentype", "application/x-font-truetype",
    "application/x-font-ttf", "application/x-httpd-cgi", "application/x-javascript", "application/x-mpegurl",
    "application/x-opentype", "application/x-otf", "application/x-perl", "application/x-ttf",
    "font/eot", "font/opentype", "font/otf", "font/ttf", "image/svg+xml",
    "text/css", "text/csv", "text/html", "text/javascript", "text/js", "text/plain", "text/richtext",
    "text/tab-separated-values", "text/xml", "text/x-component", "text/x-java-source", "text/x-script",
    "vnd.apple.mpegurl",
})


# Why not, when nothing in the behavior, its policy or the viewer's Accept-Encoding allows a coding.
NOT_OFFERED = "the behavior, its cache policy or the viewer's Accept-Encoding rules it out"


@dataclass(frozen=True)
class Decision:
    """Whether CloudFront compresses a response, with which coding, and if not, why not."""

    coding: str | None  # "br" or "gzip" when CloudFront compresses
    reason: str = ""    # why not, in CloudFront's words; "" when it compresses


def viewer_coding(request: Request, behavior: DefaultCacheBehavior) -> str | None:
    """The coding CloudFront would compress with for this viewer, or None.

    Only what the cache policy enables counts, as in the cache key (spec §4.2): a policy with Gzip
    alone never compresses with Brotli. Brotli when the viewer accepts both [SCF step 1]."""
    policy = behavior.cache_policy
    if not behavior.compress or not (policy.enable_accept_encoding_gzip or policy.enable_accept_encoding_brotli):
        return None
    # HTTP/1.0: CloudFront removes Accept-Encoding and does not compress [SCF conditions].
    if request.http_version == "1.0":
        return None
    # An earlier version of [SCF] adds: "if the Accept-Encoding header is explicitly listed in the
    # cache policy ... CloudFront does not compress the object in the response".
    if policy.headers.behavior == "whitelist" and "accept-encoding" in {h.lower() for h in policy.headers.items}:
        return None
    accepted = normalize_accept_encoding(request.headers.get("accept-encoding"),
                                         gzip=policy.enable_accept_encoding_gzip,
                                         brotli=policy.enable_accept_encoding_brotli)
    if not accepted:
        return None
    return accepted.split(",", 1)[0]  # normalised order is br before gzip


def decide(request: Request, response: Response, behavior: DefaultCacheBehavior) -> Decision:
    """CloudFront's conditions for compression [SCF conditions], checked in its order."""
    coding = viewer_coding(request, behavior)
    if coding is None:
        return Decision(None, NOT_OFFERED)
    headers = response.headers
    if "content-encoding" in headers:
        return Decision(None, "the origin sent a Content-Encoding")
    media_type = (headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if media_type not in COMPRESSED_TYPES:
        return Decision(None, f"Content-Type {media_type or '(none)'} is not one CloudFront compresses")
    if response.status not in COMPRESSED_STATUSES:
        return Decision(None, f"status {response.status}: CloudFront compresses 200, 403 and 404 only")
    length = _content_length(headers.get("content-length"))
    if length is None:
        return Decision(None, "no valid Content-Length")
    if not MIN_SIZE <= length <= MAX_SIZE:
        return Decision(None, f"Content-Length outside {MIN_SIZE:,}-{MAX_SIZE:,} bytes")
    if (not response.body and response.stream is None) or request.method.upper() == "HEAD":
        # "There is nothing for CloudFront to compress" [SCF conditions]. A HEAD answer has no body
        # even where a stub origin sent one. UNCERTAIN: the docs say nothing of HEAD; a HEAD that
        # hits a compressed copy a GET stored gets that copy's headers (edge_cache_flow.py, cache.py).
        return Decision(None, "the response has no body")
    return Decision(coding)


def would_compress(request: Request, response: Response, behavior: DefaultCacheBehavior) -> bool:
    """Whether `compress_at_edge` will compress: a streamed body must then be read whole first."""
    return behavior.compress and decide(request, response, behavior).coding is not None


def compress_at_edge(request: Request, response: Response, behavior: DefaultCacheBehavior,
                     notes: list[str]) -> Response:
    """The response as CloudFront sends and caches it: compressed when [SCF] says so, else unchanged.

    A trace note says what happened when the behavior compresses and the viewer accepts a coding."""
    if not behavior.compress:  # the common case, and every benchmark scenario: nothing to look at
        return response
    decision = decide(request, response, behavior)
    if decision.coding is None:
        if decision.reason is not NOT_OFFERED:  # the viewer could have had it: say why not
            notes.append(f"not compressed at the edge: {decision.reason}")
        return response
    body = _compress(response.body, decision.coding)
    headers = response.headers.copy()
    headers.set("Content-Encoding", decision.coding)
    headers.set("Content-Length", str(len(body)))
    etag = headers.get("etag")
    if etag is not None:
        weak = weak_etag(etag)
        if weak is None:
            headers.remove("etag")
        else:  # the header keeps the name as the origin wrote it
            headers.set(next(k for k, _ in headers if k.lower() == "etag"), weak)
    notes.append(f"compressed at the edge: {decision.coding}")
    return Response(response.status, headers, body, response.status_description)


def weak_etag(value: str) -> str | None:
    """[SCF ETag header conversion]: a strong ETag (`"..."`) becomes weak (`W/"..."`), a weak one
    stays as it is, an invalid one is removed (None).

    UNCERTAIN: a value that begins with `"` but does not end with one is neither valid strong nor,
    by AWS's definition, invalid; we remove it, as it is not a valid ETag."""
    value = value.strip()
    if value.startswith("W/"):
        return value
    if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
        return "W/" + value
    return None


def _compress(body: bytes, coding: str) -> bytes:
    """The body in `coding`. UNCERTAIN: AWS does not say which levels CloudFront uses; we pick the
    levels on-the-fly compressors commonly use (Brotli 5, gzip 6) rather than the libraries' maximum
    (Brotli 11 costs some 20 times as much CPU per object), as only the size can tell them apart.
    mtime=0 keeps the gzip bytes the same for the same object."""
    if coding == "br":
        return bytes(brotli.compress(body, quality=5))
    return gzip.compress(body, compresslevel=6, mtime=0)


def _content_length(value: str | None) -> int | None:
    value = (value or "").strip()
    # ASCII digits only: str.isdigit() alone would accept other scripts' digits.
    return int(value) if value.isascii() and value.isdigit() else None
