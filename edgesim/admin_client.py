"""Talk to a running `edgesim serve` through its loopback-only admin routes (`/__edgesim/...`)."""

from __future__ import annotations

import httpx


def invalidate(url: str, paths: list[str], *, timeout: float = 10.0) -> int:
    """POST the paths to `<url>/__edgesim/invalidate`; returns how many cached objects went.

    Raises RuntimeError with a readable line when the server is not there or refuses the paths."""
    endpoint = url.rstrip("/") + "/__edgesim/invalidate"
    try:
        response = httpx.post(endpoint, json={"paths": paths}, timeout=timeout)
    except httpx.HTTPError as exc:
        raise RuntimeError(f"cannot reach edgesim at {url}: {exc}; is `edgesim serve` running there?") from None
    try:
        payload = response.json()
    except ValueError:
        payload = {}
    if response.status_code != 200:
        reason = payload.get("error") if isinstance(payload, dict) else None
        raise RuntimeError(f"{endpoint} answered {response.status_code}: {reason or response.text.strip()}")
    return int(payload["invalidated"])
