"""Lambda@Edge origin-response: add the security headers every site should send."""

HEADERS = {
    "strict-transport-security": "max-age=63072000; includeSubDomains; preload",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "content-security-policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'",
}


def handler(event, context):
    response = event["Records"][0]["cf"]["response"]
    headers = response["headers"]
    for name, value in HEADERS.items():
        headers[name] = [{"key": "-".join(p.capitalize() for p in name.split("-")), "value": value}]
    return response
