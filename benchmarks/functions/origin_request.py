"""Benchmark Lambda@Edge origin-request: add a header to the request and continue."""


def handler(event, context):
    request = event["Records"][0]["cf"]["request"]
    request["headers"]["x-bench-origin-request"] = [{"key": "X-Bench-Origin-Request", "value": "1"}]
    return request
