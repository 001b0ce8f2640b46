"""Lambda@Edge origin-request: send viewers to their country's site, mobile viewers to m/.

Needs an origin request policy (or cache policy) that forwards CloudFront-Viewer-Country and
CloudFront-Is-Mobile-Viewer: CloudFront adds them after viewer-request, so only origin triggers
see them. The redirect is generated at origin-request, so CloudFront caches it.
"""

COUNTRY_PATHS = {"DE": "/de", "FR": "/fr", "GB": "/uk", "JP": "/jp"}


def _first(headers, name):
    entries = headers.get(name)
    return entries[0]["value"] if entries else ""


def handler(event, context):
    request = event["Records"][0]["cf"]["request"]
    headers = request["headers"]
    prefix = COUNTRY_PATHS.get(_first(headers, "cloudfront-viewer-country"), "")
    if _first(headers, "cloudfront-is-mobile-viewer") == "true":
        prefix += "/m"
    if not prefix or request["uri"].startswith(prefix + "/"):
        return request
    location = prefix + request["uri"] + ("?" + request["querystring"] if request["querystring"] else "")
    return {
        "status": "302",
        "statusDescription": "Found",
        "headers": {
            "location": [{"key": "Location", "value": location}],
            "cache-control": [{"key": "Cache-Control", "value": "max-age=3600"}],
        },
    }
