"""Lambda@Edge viewer-request: answer /robots.txt at the edge, without a trip to the origin.

A response generated at viewer-request goes straight to the viewer and is not cached.
"""

ROBOTS = "User-agent: *\nDisallow: /private/\n"


def handler(event, context):
    request = event["Records"][0]["cf"]["request"]
    if request["uri"] != "/robots.txt":
        return request
    return {
        "status": 200,  # a number works as well as a string
        "statusDescription": "OK",
        "headers": {"content-type": [{"key": "Content-Type", "value": "text/plain; charset=utf-8"}]},
        "body": ROBOTS,
    }
