"""Benchmark Lambda@Edge origin-response: add a header to the response."""


def handler(event, context):
    response = event["Records"][0]["cf"]["response"]
    response["headers"]["x-bench-origin-response"] = [{"key": "X-Bench-Origin-Response", "value": "1"}]
    return response
