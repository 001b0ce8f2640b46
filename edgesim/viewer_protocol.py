"""The cache behavior's viewer protocol policy: redirect-to-https and https-only (spec §3.1).

Locally the viewer usually speaks plain http. Unless the distribution enforces the policy
(`distribution.enforce_viewer_protocol_policy`), such a request is treated as https and the trace
says so; enforced, redirect-to-https answers 301 and https-only 403, as CloudFront does, before
any edge function runs.
"""

from __future__ import annotations

from edgesim.config import DistributionSettings
from edgesim.errors import HttpsRequired
from edgesim.messages import Headers, Request, Response

REDIRECT_PAGE = (b"<html>\r\n<head><title>301 Moved Permanently</title></head>\r\n<body>\r\n"
                 b"<center><h1>301 Moved Permanently</h1></center>\r\n<hr><center>CloudFront</center>\r\n"
                 b"</body>\r\n</html>\r\n")


def apply_viewer_protocol_policy(policy: str, request: Request, settings: DistributionSettings,
                                 notes: list[str]) -> Response | None:
    """The 301 to send instead of serving `request`, or None to serve it. Raises HttpsRequired for
    https-only. A plain-http request that is served locally is marked https (and noted)."""
    if policy == "allow-all" or request.scheme == "https":
        return None
    if not settings.enforce_viewer_protocol_policy:
        notes.append(f"{policy}: plain http treated as https locally "
                     "(set distribution.enforce_viewer_protocol_policy = true to enforce)")
        request.scheme = "https"
        return None
    if policy == "https-only":
        raise HttpsRequired()
    host = request.headers.get("host") or settings.domain_name
    location = f"https://{host.split(':')[0]}{request.url_path_and_query}"
    return Response(301, Headers([("Location", location), ("Content-Type", "text/html"),
                                  ("Content-Length", str(len(REDIRECT_PAGE)))]), REDIRECT_PAGE, "Moved Permanently")
