"""The public functions over tagged values: tag, tags, ranges, allows, untag, declassify."""

from __future__ import annotations

from typing import Any, TypeVar, overload

from . import _carriers, _decide, _events
from . import _ranges as R
from ._errors import PolicyError
from ._proxy import TaggedValue
from ._purposes import validate_purpose
from ._ranges import TagSet
from ._tags import Tag, intern_tags
from ._tainted import TaintedBytes, TaintedStr

T = TypeVar("T")


def tag(
    value: T,
    *purposes: str,
    category: str | None = None,
    source: str | None = None,
    subject: str | None = None,
) -> T:
    """`value` tagged as collected for `purposes`.

    ``str`` -> `TaintedStr`, ``bytes`` -> `TaintedBytes`, ``dict``/``list``/
    ``tuple``/``set``/``frozenset`` -> the same container with every leaf tagged
    (dict values, not keys), anything else -> a `TaggedValue` proxy, ``None`` -> ``None``.
    """
    if not purposes:
        raise PolicyError(
            "tag() needs at least one purpose, e.g. "
            "pt.tag(phone, 'security.authentication.two_factor')"
        )
    t = Tag(purposes, category=category, source=source, subject=subject)
    return _carriers.with_tag(value, t)  # type: ignore[no-any-return]


def tags(value: object) -> frozenset[Tag]:
    """The tags on `value` itself (every range of a string); empty when untagged."""
    return _carriers.shallow_tags(value)


def ranges(value: str | bytes) -> list[tuple[int, int, frozenset[Tag]]]:
    """For ``str``/``bytes``: sorted, non-overlapping ``(start, stop, tags)`` ranges."""
    t = type(value)
    if t is TaintedStr or t is TaintedBytes:
        return R.as_public(value._pt_ranges, len(value))  # type: ignore[union-attr]
    if isinstance(value, str | bytes):
        return []
    raise TypeError(
        f"ranges() takes a str or bytes, got a {type(value).__name__}; use tags() for other values"
    )


def is_tagged(value: object) -> bool:
    """Does `value`, or anything inside it (as a guard scans it), carry a tag?"""
    from ._scan import scan_tags

    found, truncated = scan_tags(value, sink="purposetag.is_tagged")
    return bool(found) or truncated


def allows(value: object, use: str) -> bool:
    """Would using `value` (deeply, as a guard scans it) for `use` be allowed now?

    A scan cut short by ``max_depth``/``max_items`` cannot prove the rest allowed:
    the answer is then False (and ``purpose_scan_truncated`` is logged).
    """
    use = validate_purpose(use, " (use)")
    from ._scan import scan_tags

    found, truncated = scan_tags(value, use=use)
    return not truncated and all(_decide.tag_allowed(t, use) for t in found)


def _audit(event: str, value: object, tagset: TagSet, **extra: Any) -> None:
    desc = _events.describe(tagset)
    _events.emit(
        "info",
        event,
        categories=desc["categories"],
        sources=desc["sources"],
        purposes=desc["purposes"],
        fingerprint=_events.fingerprint(value),
        location=_events.caller_location(),
        **extra,
    )


@overload
def untag(value: TaintedStr) -> str: ...
@overload
def untag(value: TaintedBytes) -> bytes: ...
@overload
def untag(value: TaggedValue) -> Any: ...
@overload
def untag(value: T) -> T: ...
def untag(value: Any) -> Any:
    """The plain value (exact ``str``/``bytes``/wrapped object), deeply.  Audited."""
    found = _carriers.deep_tags(value)
    if found:
        _audit("purpose_untagged", value, found, reason=None, purposes_added=[])
    return _carriers.plain(value)


def declassify(value: T, *purposes: str, reason: str) -> T:
    """`value` with `purposes` added to each of its tags (a recorded legal basis).  Audited.

    Returns a new value; the original keeps its tags.
    """
    if not isinstance(reason, str) or not reason.strip():
        raise PolicyError(
            "declassify() needs a non-empty reason= naming the legal basis, "
            "e.g. reason='user opted in to marketing email on 2026-01-05'"
        )
    if _carriers.deep_tags(reason):
        raise PolicyError(
            "declassify(reason=...) is tagged data: the reason is logged with the audit "
            "event, so it must be plain text naming the legal basis, not personal data"
        )
    reason = str.__str__(reason)
    if not purposes:
        raise PolicyError("declassify() needs at least one purpose to add")
    added = frozenset(validate_purpose(p, " (declassify)") for p in purposes)
    found = _carriers.deep_tags(value)

    def widen(ts: TagSet) -> TagSet:
        return intern_tags(frozenset(t.with_purposes(*added) for t in ts))

    result = _carriers.map_tags(value, widen)
    if found:
        _audit(
            "purpose_declassified",
            value,
            found,
            reason=reason,
            purposes_added=sorted(added),
        )
    return result  # type: ignore[no-any-return]
