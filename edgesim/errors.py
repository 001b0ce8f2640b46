"""The exception tree. Declarations only: a status, a CloudFront error name and a message.

    EdgesimError
    ├── UserError                   your config or code is wrong; shown as one clear line
    │   ├── ConfigError             a distribution config that CloudFront would refuse at deploy
    │   ├── FunctionCodeError       a function that cannot load (size, syntax, runtime subset, import)
    │   └── StubError               a test's origin stub that is not one (also a TypeError)
    └── ViewerError                 becomes the HTTP response the viewer gets (app.py renders it)
        ├── BadRequest                      400  malformed request
        │   ├── GetWithBody                 403  a GET that carries a body
        │   └── HttpVersionNotSupported     505  a request line naming an HTTP version other than 1.0 / 1.1
        ├── RequestTooLarge                 413/414/494  URI, headers or body over CloudFront's limits
        ├── MethodNotAllowed                403  method not in the behavior's allowed methods
        ├── HttpsRequired                   403  viewer protocol policy https-only over http
        ├── AccessDenied                    403  a signed URL or signed cookie missing or not valid (XML body)
        ├── GeoBlocked                      403  the viewer's country is refused by the geographic restrictions
        ├── FunctionValidationError         502  a CloudFront Function returned something invalid
        ├── FunctionExecutionError          503  a CloudFront Function threw, rejected, ran too long
        ├── LambdaValidationError           502  a Lambda@Edge handler returned something invalid
        ├── LambdaExecutionError            503  a Lambda@Edge handler threw or crashed
        ├── LambdaLimitExceeded             503  a Lambda@Edge handler timed out or ran out of memory
        ├── OriginConnectionError           502  the origin refused or could not be resolved
        ├── OriginTimeout                   504  the origin did not answer in time
        ├── CachedObjectLost                502  a cached object's file removed or cut short from outside
        └── SimulatorError                  500  edgesim itself broke (a bug: please report it)

Spec §1.9 and §2.8 give the statuses and X-Cache names.
"""

from __future__ import annotations

from collections.abc import Sequence


class EdgesimError(Exception):
    """Base of every error edgesim raises on purpose."""


class UserError(EdgesimError):
    """The user's config or function is wrong. `str()` is one line naming where and the fix."""


class ConfigError(UserError):
    """A config CloudFront would refuse. `problems` holds one line per problem, each naming where."""

    def __init__(self, message: str, *, file: str | None = None, field: str | None = None) -> None:
        self.file = file
        self.field = field
        where = ": ".join(p for p in (file, field) if p)
        line = f"{where}: {message}" if where else message
        self.problems: list[str] = [line]
        super().__init__(line)

    @classmethod
    def many(cls, problems: list[str]) -> ConfigError:
        err = cls("\n".join(problems))
        err.problems = list(problems)
        return err


class FunctionCodeError(UserError):
    """A function that cannot be loaded. CloudFront names: FunctionSizeLimitExceeded, etc."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 code: str = "InvalidFunctionCode") -> None:
        self.file = file
        self.line = line
        self.code = code
        self.reason = message
        where = file or ""
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {message}" if where else message)


class StubError(UserError, TypeError):
    """A test's origin stub that is not one: a canned value that is no response, an object that is no
    origin. A TypeError as well, as it was before it was a UserError; as a UserError, the pytest plugin
    reports it in one line naming the origin and the route instead of a traceback through edgesim."""


class BodyBrokenOff(EdgesimError):
    """The origin failed in the middle of a body already being streamed to the viewer: too late for
    an error page, so the viewer's connection is cut (server.py logs it as one line, not a traceback)."""


class ViewerError(EdgesimError):
    """An error the viewer sees as a CloudFront error page."""

    status: int = 502
    x_cache: str = "Error from cloudfront"
    # The reason line on CloudFront's error page (spec §1.9).
    page_reason: str = "The request could not be satisfied."

    def __init__(self, reason: str = "", *, logs: Sequence[str] | None = None) -> None:
        self.reason = reason or self.page_reason
        # A function's log lines up to the failure, so the developer sees them next to the error.
        self.logs: list[str] = list(logs or [])
        super().__init__(self.reason)


class BadRequest(ViewerError):
    status = 400
    page_reason = "Bad request. We can't connect to the server for this app or website at this time."


class ViewerOverrideError(BadRequest):
    """A malformed X-Edgesim-Viewer-* header, edgesim's own device (no CloudFront error): the page
    says what is wrong, so that `curl` shows it without the server's log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.page_reason = f"edgesim: {reason}"


class GetWithBody(BadRequest):
    """CloudFront refuses a viewer GET that includes a body (AD/RequestAndResponseBehaviorCustomOrigin)."""

    status = 403


class HttpVersionNotSupported(BadRequest):
    """A request line in HTTP/1 syntax naming another version (HTTP/2.0, HTTP/1.2, HTTP/0.9).

    The spec is silent; we take RFC 9110 §15.6.6's 505, as nginx answers it. HTTP/2 itself is
    negotiated in TLS (ALPN), never spelled in an HTTP/1 request line.
    """

    status = 505


class RequestTooLarge(ViewerError):
    status = 413
    page_reason = "The request is too large."

    def __init__(self, reason: str = "", status: int = 413) -> None:
        super().__init__(reason)
        self.status = status


class MethodNotAllowed(ViewerError):
    status = 403
    page_reason = "This distribution is not configured to allow the HTTP request method that was used for this request."


class HttpsRequired(ViewerError):
    status = 403
    page_reason = "The viewer protocol policy of this cache behavior requires HTTPS."


class AccessDenied(ViewerError):
    """Restricted viewer access refused a request (signed_access.py). CloudFront answers these with an
    S3-style XML document, not its HTML page: `<Code>AccessDenied</Code><Message>Access denied</Message>`
    (aws-samples/amazon-cloudfront-signed-urls-using-lambda-secretsmanager#8), `MalformedPolicy`
    (aws/aws-sdk-js#2236), `MissingKey`, `InvalidKey`, `MalformedSignature` (signed_access.py lists
    each with its source). `reason` is the Message, `code` the Code."""

    status = 403
    page_reason = "Access denied"

    def __init__(self, reason: str = "", *, code: str = "AccessDenied") -> None:
        super().__init__(reason)
        self.code = code


class GeoBlocked(ViewerError):
    """The distribution's geographic restrictions refuse the viewer's country (geo_restriction.py).
    `reason` says which country and which list, for the log; the page carries CloudFront's words."""

    status = 403
    page_reason = "The Amazon CloudFront distribution is configured to block access from your country."


class FunctionValidationError(ViewerError):
    status = 502
    x_cache = "FunctionValidationError from cloudfront"
    page_reason = "The CloudFront function returned an invalid value to CloudFront."


class FunctionExecutionError(ViewerError):
    status = 503
    x_cache = "FunctionExecutionError from cloudfront"
    page_reason = "The CloudFront function associated with the CloudFront distribution is invalid or could not run."


class LambdaValidationError(ViewerError):
    status = 502
    x_cache = "LambdaValidationError from cloudfront"
    page_reason = "The Lambda function returned an invalid request or response to CloudFront."


class LambdaExecutionError(ViewerError):
    status = 503
    x_cache = "LambdaExecutionError from cloudfront"
    page_reason = "The Lambda function associated with the CloudFront distribution is invalid or doesn't have the required permissions."


class LambdaLimitExceeded(ViewerError):
    status = 503
    x_cache = "LambdaLimitExceeded from cloudfront"
    page_reason = "The Lambda function associated with the CloudFront distribution was throttled."


class OriginConnectionError(ViewerError):
    status = 502
    page_reason = "CloudFront wasn't able to connect to the origin."


class OriginTimeout(ViewerError):
    status = 504
    page_reason = "We can't connect to the server for this app or website at this time."


class CachedObjectLost(ViewerError):
    """A cached object's file (cache_files.py) was removed or cut short by someone else (a temp
    cleaner, the user). The edge cache's flow takes it for a miss and asks the origin, as CloudFront
    refetches an object an edge lost; a viewer sees it only when the file goes short mid-body, too
    late for anything but cutting its connection (app.py)."""

    status = 502
    page_reason = "The cached object could not be read."


class OriginStubFailed(ViewerError):
    """A test's origin stub raised, or returned no response: the test's own code failed, not
    CloudFront's rules and not edgesim. No CloudFront error stands for it, so it is kept apart from
    OriginConnectionError (which would fail over, or serve a stale object, and hide the mistake) and
    from SimulatorError (which calls it a bug in edgesim); a 500, as a failure of the whole."""

    status = 500
    page_reason = "edgesim: this test's origin stub failed (see the test's report for where)."


class SimulatorError(ViewerError):
    """A system error: edgesim broke, not the user's code. Kept apart from user errors, as Miniflare does."""

    status = 500
    page_reason = "edgesim failed while handling this request; this is a bug in edgesim."
