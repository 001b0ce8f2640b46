"""Origins a test's requests reached for real although the test did not stub them.

A test whose config names `https://api.example.com` and that forgets to stub that origin sends its
requests over the internet: it passes while the network is up and the API answers, and fails in CI
behind a firewall with a 502 that reads like a bug in a function. The pytest plugin warns about each
origin reached that way (`UnstubbedOriginWarning`, which `filterwarnings = error::...` turns into a
failure), and a failing test's report names an unstubbed origin that did not answer, local or not.

An origin counts as meant for real when the test gave its URL as the origin's stub (`origins={"app":
"http://127.0.0.1:3000"}`); a directory origin is a local folder, never the network.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from edgesim.config import DistributionConfig
from edgesim.messages import EventType
from edgesim.origin_config import CustomOrigin, S3Origin
from edgesim.trace import Trace

# Names that never leave this machine or its private network: RFC 6761's special-use names, and the
# suffixes private networks use (Docker Compose service names are single labels, caught apart).
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".test", ".invalid", ".example", ".lan", ".home.arpa")
# The id edgesim.lambda_edge.event.origin_from_event gives an origin a Lambda@Edge function chose that
# matches no configured one.
_LAMBDA_ORIGIN_PREFIX = "lambda-"
HOW_TO_STUB = ("stub it with canned responses, a function or an ASGI app (the edgesim_origins fixture or "
               "@pytest.mark.edgesim(origins=...)), or give its URL there to mean it")


class UnstubbedOriginWarning(UserWarning):
    """A test's requests went over the internet to an origin the test did not stub."""


@dataclass(frozen=True)
class UnstubbedOrigin:
    """One origin this distribution's requests reached for real, unstubbed."""

    origin_id: str
    url: str  # where its requests went: scheme://host:port and origin path
    requests: int
    failures: int  # requests that got no answer: connection refused, unknown host, timeout
    local: bool  # this machine or a private network, not the internet

    def warning(self, how: str = HOW_TO_STUB) -> str:
        """The warning, without the test's name, so pytest's summary groups the tests it names."""
        return (f"edgesim: origin {self.origin_id!r} is not stubbed, so this test's requests to it went over the "
                f"internet to {self.url}; {how}")

    def hint(self, how: str = HOW_TO_STUB) -> str | None:
        """A line for a failing test's report, or None for a local origin that answered (a dev server
        the test may mean to use). `how` says how to stub it where the test is written."""
        if self.failures:
            return (f"origin {self.origin_id!r} is not stubbed in this test, and nothing answered at {self.url} "
                    f"({self.failures} of {self.requests} request(s) failed): {how}")
        if not self.local:
            return (f"origin {self.origin_id!r} is not stubbed in this test: its {self.requests} request(s) went "
                    f"over the internet to {self.url}; {how}")
        return None


def unstubbed_origins(traces: Iterable[Trace], config: DistributionConfig, stubbed: Collection[str],
                      meant: Collection[str]) -> list[UnstubbedOrigin]:
    """The origins `traces` reached that are neither stubbed nor `meant` (given as a URL), in order."""
    configured = {o.id: o for o in config.origins}
    counts: dict[str, list[int]] = {}
    urls: dict[str, str] = {}
    for trace in traces:
        for record in trace.origin_requests:
            origin_id = record.origin_id
            if origin_id in stubbed or origin_id in meant:
                continue
            origin = configured.get(origin_id)
            if isinstance(origin, S3Origin):
                continue  # a local folder
            if isinstance(origin, CustomOrigin):
                url = origin.url
            else:
                found = _lambda_origin_url(trace, origin_id)
                if found is None:
                    continue  # an S3 origin a function chose: edgesim serves no bucket it has no folder for
                url = found
            urls.setdefault(origin_id, url)
            count = counts.setdefault(origin_id, [0, 0])
            count[0] += 1
            count[1] += record.error is not None
    return [UnstubbedOrigin(origin_id, urls[origin_id], n, failed, is_local_host(urlsplit(urls[origin_id]).hostname))
            for origin_id, (n, failed) in counts.items()]


def _lambda_origin_url(trace: Trace, origin_id: str) -> str | None:
    """The URL of an origin an origin-request function chose (`request.origin.custom`), read from what it
    returned; None for an S3 one. Falls back to the domain in the id when the output cannot be read."""
    record = trace.trigger(EventType.ORIGIN_REQUEST)
    output: Any = record.output if record is not None else None
    origin = output.get("origin") if isinstance(output, dict) else None
    if isinstance(origin, dict) and isinstance(origin.get("s3"), dict):
        return None
    custom = origin.get("custom") if isinstance(origin, dict) else None
    if isinstance(custom, dict) and custom.get("domainName"):
        return f"{custom.get('protocol', 'https')}://{custom['domainName']}:{custom.get('port', 443)}{custom.get('path', '')}"
    return f"https://{origin_id.removeprefix(_LAMBDA_ORIGIN_PREFIX)}"


def is_local_host(host: str | None) -> bool:
    """This machine, a private network or a name that cannot resolve on the internet.

    UNCERTAIN: where "the internet" starts is a judgement; private and link-local addresses, single-label
    names (Docker Compose services, /etc/hosts entries) and the special-use suffixes count as local.
    """
    if not host:
        return True
    name = host.strip("[]").rstrip(".").lower()
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return name == "localhost" or "." not in name or name.endswith(_LOCAL_SUFFIXES)
    return address.is_loopback or address.is_private or address.is_link_local or address.is_unspecified
