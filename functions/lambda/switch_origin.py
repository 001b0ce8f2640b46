"""Lambda@Edge origin-request: send /api/ requests to another origin, switching S3 to custom.

The new origin needs no configuration in the distribution; the Host header is rewritten to match,
as AWS's own example does. Set API_DOMAIN to your API's host name.
"""

API_DOMAIN = "localhost"
API_PORT = 8080


def handler(event, context):
    request = event["Records"][0]["cf"]["request"]
    if not request["uri"].startswith("/api/"):
        return request
    request["origin"] = {
        "custom": {
            "domainName": API_DOMAIN,
            "port": API_PORT,
            "protocol": "http",
            "path": "",
            "sslProtocols": ["TLSv1.2"],
            "readTimeout": 30,
            "keepaliveTimeout": 5,
            "customHeaders": {},
        }
    }
    request["headers"]["host"] = [{"key": "Host", "value": API_DOMAIN}]
    return request
