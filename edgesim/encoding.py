"""URI, query string and header values: the bytes that travel, the text functions see (spec §1.4).

CloudFront passes these values to functions as UTF-8, transcoding ISO-8859-1 (and anything else
that is not UTF-8) to it; what no function changed goes on as received, byte for byte; what a
function changed goes on as UTF-8.

edgesim keeps each value as one `str`: the UTF-8 reading of the bytes received, with Python's
`surrogateescape` standing in for each byte that is not part of valid UTF-8 (U+DC80-U+DCFF). So
`encode(decode(raw)) == raw` for any bytes, a value a function set (plain text) goes out as UTF-8
with the same call, and the hot path pays nothing for it: for ASCII, which nearly every value is,
UTF-8 with an error handler costs what ISO-8859-1 did (the handler only runs on a bad byte), and
no flag or wrapper travels with a header line. The difference shows only at the function
boundary: `shown` gives a function the ISO-8859-1 reading of a value that is not UTF-8, and
`restore` maps a value the function handed back unchanged onto what was received.
"""

from __future__ import annotations

from collections.abc import Iterable


def decode(raw: bytes) -> str:
    """Bytes received (from the viewer or the origin) as edgesim keeps them."""
    return raw.decode("utf-8", "surrogateescape")


def encode(value: str) -> bytes:
    """A value as it goes out: the bytes received when it came in unchanged, else UTF-8."""
    return value.encode("utf-8", "surrogateescape")


def shown(value: str) -> str:
    """The value as a function sees it (spec §1.4): UTF-8 as is; bytes that are not UTF-8 read as
    ISO-8859-1, the whole value so, as CloudFront does. Callers skip it for ASCII (`isascii()`)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # it holds escaped bytes: the value was not UTF-8
        return encode(value).decode("latin-1")
    return value


def restore(text: str, received: Iterable[str]) -> str:
    """A non-ASCII value a function returned, as edgesim keeps it: the value among `received` (the
    same field's values before the function ran) that the function was shown as this very text,
    so an unchanged value goes on byte for byte; else the text itself, to go out as UTF-8.

    A value a function set to exactly what it was shown counts as unchanged: nothing tells the two
    apart (our reading of §1.4). Only values that were not UTF-8 differ from what was shown."""
    for value in received:
        if not value.isascii() and value != text and shown(value) == text:
            return value
    return clean(text)


def clean(text: str) -> str:
    """Text from a function that UTF-8 can carry: a lone surrogate, which a JavaScript string may
    hold, becomes U+FFFD, as a JavaScript TextEncoder writes it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text
