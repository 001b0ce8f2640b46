"""Lambda@Edge viewer-request with include_body: refuse scripts in form posts, trim the rest.

The body arrives base64-encoded; `inputTruncated` says CloudFront cut it at 40 KB. Setting
`action: replace` sends the new body to the origin instead of the viewer's.
"""

import base64


def handler(event, context):
    request = event["Records"][0]["cf"]["request"]
    body = request.get("body")
    if not body or not body["data"]:
        return request
    if body["inputTruncated"]:
        return {"status": "413", "statusDescription": "Payload Too Large"}
    text = base64.b64decode(body["data"]).decode("utf-8", "replace")
    if "<script" in text.lower():
        return {
            "status": "403",
            "statusDescription": "Forbidden",
            "headers": {"content-type": [{"key": "Content-Type", "value": "text/plain"}]},
            "body": "scripts are not accepted\n",
        }
    body["action"] = "replace"
    body["encoding"] = "text"
    body["data"] = text.strip()
    return request
