"""The runtimes Lambda@Edge accepts for edge functions, as config names them. (A CloudFront
Function's, `cloudfront-js-1.0` and `cloudfront-js-2.0`, are a Literal in function_associations.py: BC
FunctionConfig/FunctionRuntime, spec §1.5.)

Lambda@Edge (spec §2.1): CloudFront's "Restrictions on Lambda@Edge" page (DG/lambda-at-edge-function-
restrictions, "Supported runtimes") listed Node.js 22, 20, 18, 16 and 14-6 (deprecated: functions
already on them still run and associate, new ones cannot be created) and Python 3.13-3.7; its current
version says Lambda@Edge "supports the latest versions of Node.js and Python runtimes" and defers to
Lambda's own list (lambda/latest/dg/lambda-runtimes), which has added `nodejs24.x` and `python3.14`
(Nov 2025). Node.js 6 and 8 had other identifiers (`nodejs6.10`, `nodejs8.10`) that no tool still
deploys; edgesim never accepted them. Only x86_64, no container images, no custom (`provided`)
runtimes, so nothing else (`java21`, `ruby3.3`, `python2.7`, `nodejs19.x`) can be an edge function.
"""

from __future__ import annotations

from edgesim.docs_links import cite

# Newest first: the order an error message lists them in.
LAMBDA_EDGE_RUNTIMES = (
    "python3.14", "python3.13", "python3.12", "python3.11", "python3.10", "python3.9", "python3.8", "python3.7",
    "nodejs24.x", "nodejs22.x", "nodejs20.x", "nodejs18.x", "nodejs16.x", "nodejs14.x", "nodejs12.x", "nodejs10.x",
)


def lambda_edge_runtime_problem(runtime: str) -> str | None:
    """Why `runtime` cannot run a Lambda@Edge function, or None when it can."""
    if runtime in LAMBDA_EDGE_RUNTIMES:
        return None
    language = "python" if runtime.startswith("python") else "nodejs" if runtime.startswith("node") else ""
    same = [r for r in LAMBDA_EDGE_RUNTIMES if r.startswith(language)] if language else list(LAMBDA_EDGE_RUNTIMES)
    return (f"{runtime!r} is not a runtime Lambda@Edge supports ({cite('lambda-at-edge-function-restrictions')}); "
            f"use one of: {', '.join(same)}")
