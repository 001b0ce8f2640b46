"""Lambda@Edge: Python and Node.js handlers in warm subprocesses, on all four trigger points."""

from edgesim.lambda_edge.generate import generate_event
from edgesim.lambda_edge.invoke import InvokeResult, check_lambda, invoke_handler
from edgesim.lambda_edge.runtime import LambdaEdgeFunction, LambdaEdgeRuntime

__all__ = ["InvokeResult", "LambdaEdgeFunction", "LambdaEdgeRuntime", "check_lambda", "generate_event",
           "invoke_handler"]
