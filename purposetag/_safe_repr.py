"""`safe_repr`: how an error message shows a value the caller gave.

Messages name the bad input, but a tagged value (or a container holding one, or an
object whose ``repr`` returns tagged text) is described, never quoted: an exception
message is logged, printed and shipped to error trackers, and the raw value must not
travel there.
"""

from __future__ import annotations

_MAX = 200


def _kind(value: object) -> str:
    from ._proxy import TaggedValue
    from ._tainted import TaintedBytes, TaintedStr

    if isinstance(value, TaintedStr):
        return "str"
    if isinstance(value, TaintedBytes):
        return "bytes"
    if isinstance(value, TaggedValue):
        try:
            return str.__str__(type(value.__wrapped__).__name__)
        except Exception:
            return "object"
    return str.__str__(type(value).__name__)


def holds_tag(value: object) -> bool:
    """Does `value`, or anything inside it, carry a tag?  Quiet (no event); a scan
    cut short by a limit counts as yes."""
    from ._scan import ATOMIC, Scanner

    if type(value) in ATOMIC:
        return False
    try:
        scanner = Scanner()
        scanner.scan(value, "value")
    except Exception:
        return True
    return bool(scanner.found) or scanner.truncated is not None


def safe_repr(value: object) -> str:
    """``repr(value)`` for a message, or ``<tagged str>`` (etc.) when it holds a tag."""
    if holds_tag(value):
        return f"<tagged {_kind(value)}>"
    try:
        text = repr(value)
    except Exception:
        return f"<{_kind(value)}>"
    if type(text) is not str:  # a __repr__ that returns tagged (or odd) text
        if holds_tag(text):
            return f"<{_kind(value)} with a tagged repr>"
        text = str.__str__(text) if isinstance(text, str) else f"<{_kind(value)}>"
    if len(text) > _MAX:
        text = text[: _MAX - 3] + "..."
    return text
