"""edgesim: Amazon CloudFront's edge on your machine."""

from edgesim.config import DistributionConfig, load_config
from edgesim.messages import EventType, Headers, Request, Response

__all__ = sorted(["DistributionConfig", "EventType", "Headers", "Request", "Response", "load_config"])
