"""CloudFront Functions on embedded V8: the event, the runtime subset, the built-ins, test-function."""

from edgesim.cloudfront_functions.runtime import (
    CloudFrontFunction,
    check_cloudfront_function,
    load_cloudfront_function,
)
from edgesim.cloudfront_functions.testfunction import test_function

__all__ = ["CloudFrontFunction", "check_cloudfront_function", "load_cloudfront_function", "test_function"]
