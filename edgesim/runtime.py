"""The seam between the pipeline and the function runtimes; imports no implementation.

The pipeline calls `EdgeFunction.invoke(TriggerCall)` at each trigger point. A CloudFront Functions
runtime and a Lambda@Edge runtime each implement it; tests may plug in a fake. Errors a function
causes are raised as `errors.ViewerError` subclasses (FunctionExecutionError, LambdaValidationError…)
with their `logs` attached, and the pipeline lets them through to become the viewer's error page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol, Union

from edgesim.messages import EventType, Request, Response

if TYPE_CHECKING:
    from edgesim.config import CacheBehavior, DistributionSettings
    from edgesim.origin_config import Origin, OriginGroup

JSON = Union[dict[str, "JSON"], list["JSON"], str, int, float, bool, None]

FunctionKind = Literal["cloudfront-function", "lambda"]


@dataclass
class TriggerCall:
    """Everything a runtime needs to build its event for one trigger."""

    event_type: EventType
    request: Request
    request_id: str
    distribution: DistributionSettings
    behavior: CacheBehavior
    # Every origin and origin group of the distribution by id, for selectRequestOriginById and
    # for mapping a Lambda@Edge `origin` edit back onto a configured origin.
    origins: Mapping[str, Origin | OriginGroup]
    response: Response | None = None  # origin-response and viewer-response only
    # The invocation's clock (epoch seconds); CloudFront Functions freeze Date at this value.
    now: float | None = None


@dataclass
class TriggerResult:
    """What a function did. Exactly one of request / response is set.

    - request triggers: `request` to continue, or `response` when the function generated one
      (`generated` is then True);
    - response triggers: `response`, the possibly modified response.
    """

    request: Request | None = None
    response: Response | None = None
    generated: bool = False
    logs: Sequence[str] = field(default_factory=list)
    duration_ms: float = 0.0
    compute_utilization: int | None = None  # CloudFront Functions only, 0-100
    cold_start: bool = False
    log_data: str | None = None  # cf.logCustomData's value, URL-encoded as the access log has it
    # The event the function received and what it returned, as JSON, for traces and test-function.
    event: JSON = None
    output: JSON = None


class EdgeFunction(Protocol):
    """One function associated with one or more trigger points, kept warm by its runtime."""

    # Read-only, so a runtime may narrow `kind` to its own literal.
    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> FunctionKind: ...

    async def invoke(self, call: TriggerCall) -> TriggerResult: ...

    async def aclose(self) -> None: ...
