"""Geographic restrictions: whether the distribution serves a viewer from a given country.

CloudFront looks the viewer's country up from its IP address; edgesim takes it from the simulated
viewer (`[viewer] country`, or `X-Edgesim-Viewer-Country` on one request). A viewer whose country is
not known is served, as CloudFront serves one it cannot locate (DG/georestrictions).
"""

from __future__ import annotations

from edgesim.config import GeoRestriction


def refusal(restriction: GeoRestriction, country: str) -> str | None:
    """Why the distribution refuses a viewer from `country`, for the request log; None to serve it."""
    kind = restriction.restriction_type
    if kind == "none" or not country:
        return None
    country = country.upper()
    listed = country in restriction.locations
    if kind == "whitelist" and not listed:
        return f"viewer country {country} is not in geo_restriction.locations {list(restriction.locations)} (whitelist)"
    if kind == "blacklist" and listed:
        return f"viewer country {country} is in geo_restriction.locations (blacklist)"
    return None
