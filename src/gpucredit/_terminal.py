"""Text from a user's file made safe for a terminal: one helper for every table and message.

A name in a spec (a deal, a facility, a series) is data, never markup or a terminal command:

* control characters (C0, DEL, C1: ESC, BEL, CSI, ...) and the Unicode bidirectional
  overrides are replaced by visible escapes (``\\x1b``, ``\\u202e``), so a name cannot move the
  cursor, recolour the screen, ring the bell or reorder what follows it;
* Rich markup is escaped (``[/x]`` prints as ``[/x]``), or the text is handed to Rich as a
  ``Text``, which Rich never parses as markup.
"""

from __future__ import annotations

from rich.markup import escape
from rich.text import Text

__all__ = ["markup_safe", "plain", "printable"]

#: Unicode bidirectional embeddings, overrides and isolates ("Trojan Source", CVE-2021-42574).
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _visible(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _unsafe(char: str) -> bool:
    code = ord(char)
    return code < 0x20 or 0x7F <= code <= 0x9F or char in _BIDI


def printable(text: object, *, keep_newlines: bool = False) -> str:
    """``str(text)`` with every control character written as a visible escape.

    Parameters
    ----------
    text : object
        A name or message; anything else is converted with ``str``.
    keep_newlines : bool
        Keep ``\\n`` as a line break (messages of several lines); every other control
        character, tab and carriage return included, is still escaped.

    Returns
    -------
    str
        The text, safe to write to a terminal (but not yet to Rich markup: see
        :func:`markup_safe`).
    """
    raw = str(text)
    if not any(_unsafe(c) for c in raw):
        return raw
    return "".join(
        _visible(c) if _unsafe(c) and not (keep_newlines and c == "\n") else c for c in raw
    )


def markup_safe(text: object, *, keep_newlines: bool = False) -> str:
    """:func:`printable` text with Rich markup escaped, to embed in a markup string."""
    return escape(printable(text, keep_newlines=keep_newlines))


def plain(text: object) -> Text:
    """:func:`printable` text as a Rich ``Text``: a table cell that is never parsed as markup."""
    if isinstance(text, Text):
        return Text(printable(text.plain), style=text.style, justify=text.justify)
    return Text(printable(text))
