"""An event file read as users save them, for `--event` and the testing API's event paths.

`sam local generate-event cloudfront ... > event.json` in Windows PowerShell 5 writes UTF-16 with a
byte order mark, and Notepad's UTF-8 starts with one: the event inside is the same JSON, so it is
read whatever of these the file is in, rather than refused as "not valid JSON".
"""

from __future__ import annotations

import codecs
import json
from typing import Any

from edgesim.errors import UserError

# Longest mark first: UTF-32's little-endian mark begins with UTF-16's.
_MARKS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF8, "utf-8"),
          (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def load_event(data: bytes, source: str) -> Any:
    """The JSON in `data`: UTF-8, or the encoding its byte order mark names. `source` names the
    file in the error (`--event event.json`, `event file events/a.json`)."""
    encoding = "utf-8"
    for mark, name in _MARKS:
        if data.startswith(mark):
            data, encoding = data[len(mark):], name
            break
    try:
        return json.loads(data.decode(encoding))
    except UnicodeDecodeError as exc:
        raise UserError(f"{source}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8") from None
    except ValueError as exc:
        raise UserError(f"{source}: not valid JSON: {exc}") from None
