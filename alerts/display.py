"""Making untrusted text safe to show: in summaries, log lines and terminals."""

import unicodedata

_MAX_FIELD = 120


def printable(text: str, limit: int = _MAX_FIELD) -> str:
    """Escape control, format (bidi overrides, zero-width) and separator characters; cut at limit.

    >>> printable("ACME\\u202eLTD")
    'ACME\\\\u202eLTD'
    """
    if text.isprintable():  # no control, format or separator characters: the common case
        return text if len(text) <= limit else text[: limit - 1] + "…"
    out: list[str] = []
    for char in text:
        category = unicodedata.category(char)
        if category[0] == "C" or category in ("Zl", "Zp"):
            out.append(f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF else f"\\U{ord(char):08x}")
        else:
            out.append(char)
    shown = "".join(out)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"
