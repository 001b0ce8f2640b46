"""cf.edgeLocation: the point of presence a request reached and the region CloudFront expects to use.

CloudFront names its edge locations by the nearest airport's IATA code (`SFO53-P7`); the `region`
is that location's regional edge cache, the AWS region a function would pick an origin in (spec
§1.7). AWS publishes no IATA-to-region table: this one maps the common edge airports to their
nearest region (UNCERTAIN: our reading of the published REC map), so a function that routes by
region can be tried with `distribution.pop = "FRA56-P1"` and the like. Unknown codes get us-east-1.
"""

from __future__ import annotations

import functools

_REGIONS: dict[str, tuple[str, ...]] = {
    "us-east-1": ("IAD", "JFK", "EWR", "BOS", "PHL", "ATL", "MIA", "BNA", "CLT", "JAX", "TPA", "MCI"),
    "us-east-2": ("ORD", "CMH", "DTW", "MSP", "IND", "PIT", "STL", "CLE"),
    "us-west-1": ("SFO", "SJC", "LAX", "SAN", "LAS", "PHX"),
    "us-west-2": ("SEA", "PDX", "SLC", "DEN", "DFW", "IAH", "HIO", "ANC", "HNL"),
    "ca-central-1": ("YUL", "YTO", "YYZ", "YVR", "YYC"),
    "sa-east-1": ("GRU", "GIG", "EZE", "SCL", "BOG", "LIM", "FOR", "POA", "QRO"),
    "eu-west-1": ("DUB", "ORK"),
    "eu-west-2": ("LHR", "MAN", "EDI"),
    "eu-west-3": ("CDG", "MRS"),
    "eu-central-1": ("FRA", "MUC", "DUS", "HAM", "BER", "TXL", "ZRH", "VIE", "PRG", "WAW", "BUD", "AMS", "BRU"),
    "eu-north-1": ("ARN", "CPH", "HEL", "OSL"),
    "eu-south-1": ("MXP", "FCO", "PMO", "ATH", "SOF", "OTP", "ZAG"),
    "eu-south-2": ("MAD", "BCN", "LIS"),
    "me-central-1": ("DXB", "FJR"),
    "me-south-1": ("BAH", "DOH", "JED", "RUH", "MCT", "TLV"),
    "af-south-1": ("JNB", "CPT", "NBO", "LOS"),
    "ap-south-1": ("BOM", "DEL", "MAA", "BLR", "HYD", "CCU", "PNQ", "CMB"),
    "ap-southeast-1": ("SIN", "KUL", "BKK", "CGK", "MNL", "SGN", "HAN"),
    "ap-southeast-2": ("SYD", "MEL", "BNE", "PER", "AKL"),
    "ap-northeast-1": ("NRT", "HND", "KIX", "FUK"),
    "ap-northeast-2": ("ICN",),
    "ap-northeast-3": ("ITM",),
    "ap-east-1": ("HKG", "TPE"),
}
_BY_AIRPORT = {airport: region for region, airports in _REGIONS.items() for airport in airports}
DEFAULT_REGION = "us-east-1"


@functools.lru_cache(maxsize=32)
def edge_location(pop: str) -> dict[str, str]:
    """cf.edgeLocation for the configured point of presence, e.g. SFO53-P7 -> SFO, us-west-1.
    Shared between calls: do not mutate."""
    name = pop[:3].upper()
    return {"name": name, "serverIp": "127.0.0.1", "region": _BY_AIRPORT.get(name, DEFAULT_REGION)}
