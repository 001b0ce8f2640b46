"""Example unit tests of one function on one event, with no distribution around it.

`edge_functions.cloudfront_function` returns what `aws cloudfront test-function` prints, with
`.output` (FunctionOutput parsed), `.error`, `.logs` and `.compute_utilization` to read it by;
`edge_functions.lambda_handler` returns the handler's result, its logs and how CloudFront takes it.
"""

VIEWER_REQUEST = {
    "version": "1.0",
    "context": {"eventType": "viewer-request"},
    "viewer": {"ip": "198.51.100.7"},
    "request": {"method": "GET", "uri": "/docs/", "querystring": {}, "headers": {}, "cookies": {}},
}

ORIGIN_RESPONSE = {"Records": [{"cf": {
    "config": {"distributionDomainName": "d111111abcdef8.cloudfront.net", "distributionId": "EDFDVBD6EXAMPLE",
               "eventType": "origin-response", "requestId": "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ=="},
    "request": {"clientIp": "198.51.100.7", "method": "GET", "uri": "/index.html", "querystring": "", "headers": {}},
    "response": {"status": "200", "statusDescription": "OK",
                 "headers": {"content-type": [{"key": "Content-Type", "value": "text/html"}]}},
}}]}


def test_add_index_rewrites_directory_urls(edge_functions):
    result = edge_functions.cloudfront_function("../functions/cff/add-index.js", VIEWER_REQUEST)
    # .output of a function that threw fails with its error message and logs
    assert result.output["request"]["uri"] == "/docs/index.html"
    assert 0 <= result.compute_utilization <= 100


def test_security_headers_handler_passes_validation(edge_functions):
    result = edge_functions.lambda_handler("../functions/lambda/security_headers.py:handler", ORIGIN_RESPONSE)
    assert result.ok, result.error or result.validation_error
    assert result.result["headers"]["x-frame-options"] == [{"key": "X-Frame-Options", "value": "DENY"}]
