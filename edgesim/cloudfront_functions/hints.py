"""What a run-time error means when its cause is the runtime's JavaScript (spec §1.5).

CloudFront's message is only the engine's ("TypeError: ... is not a function"); a function copied
from a cloudfront-js-1.0 example and run on 2.0 fails so on 1.0's byte-string helpers, which 2.0
removed, and one ported from Node (Lambda@Edge) on `new Buffer(...)`, which njs does not construct.
The hint is edgesim's, shown beside that message, never inside it.
"""

from __future__ import annotations

import re

from edgesim.docs_links import cite

# cloudfront-js-1.0's byte-string helpers, absent from 2.0 (spec §1.5, "REMOVES the five ...").
_V1_HELPERS = re.compile(r"\b(bytesFrom|fromBytes|fromUTF8|toBytes|toUTF8) is not a function")


# njs's words for `new Buffer(...)` (nginx/njs src/njs_buffer.c, njs_buffer_constructor).
_NEW_BUFFER = "TypeError: Buffer is not a constructor"


def runtime_hint(error: str, runtime: str) -> str | None:
    """A sentence naming the runtime as the cause of `error`, or None when it is not."""
    if runtime != "cloudfront-js-2.0":
        return None
    if _NEW_BUFFER in error:
        return ("CloudFront's Buffer (cloudfront-js-2.0) is made with Buffer.from(string[, encoding]), "
                "Buffer.from(array) or Buffer.alloc(size), never with new Buffer(...) as in Node "
                f"({cite('functions-javascript-runtime-features')})")
    found = _V1_HELPERS.search(error)
    if found is None:
        return None
    return (f"{found.group(1)} is one of cloudfront-js-1.0's byte-string helpers, which cloudfront-js-2.0 removed "
            f"({cite('functions-javascript-runtime-features')}); on 2.0 use Buffer "
            "(String.bytesFrom(s, 'base64') is Buffer.from(s, 'base64').toString()), or set runtime cloudfront-js-1.0")
