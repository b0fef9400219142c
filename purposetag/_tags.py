"""`Tag`: what a piece of data was collected for, interned so equal tags are one object."""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Iterable
from typing import Any, ClassVar

from ._errors import PolicyError
from ._purposes import validate_purpose, validate_purposes
from ._safe_repr import holds_tag

_Key = tuple[frozenset[str], "str | None", "str | None", "str | None"]


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+\d[\d\s().-]{6,}")


def _check_label(name: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise PolicyError(
            f"Tag {name}= must be a non-empty str or None, got a {type(value).__name__}"
        )
    if not value:
        raise PolicyError(f"Tag {name}= must be a non-empty str or None, got ''")
    if name != "subject" and type(value) is not str and holds_tag(value):
        # a label describes data and is logged with every event: it must not be data
        raise PolicyError(
            f"Tag {name}= is a tagged value: pass a plain label such as "
            f"{'user.contact.email' if name == 'category' else 'settings.two_factor'!r}, "
            "not data"
        )
    plain = str.__str__(value)
    if name == "subject" and (_EMAIL.fullmatch(plain) or _PHONE.fullmatch(plain)):
        # the message must not repeat it: it is the personal data we protect
        raise PolicyError(
            "Tag subject= looks like an email address or phone number; use an opaque id "
            "of the person (e.g. 'user-42'), never the contact data itself"
        )
    return plain


class Tag:
    """Immutable, hashable and interned: `Tag(...) is Tag(...)` for equal fields.

    The intern table holds tags weakly, so it never outgrows the tags in use.
    """

    __slots__ = ("__weakref__", "_hash", "_single", "category", "purposes", "source", "subject")

    purposes: frozenset[str]
    _hash: int
    _single: frozenset[Tag]
    category: str | None
    source: str | None
    subject: str | None

    _table: ClassVar[weakref.WeakValueDictionary[_Key, Tag]] = weakref.WeakValueDictionary()
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __new__(
        cls,
        purposes: Iterable[str] | str,
        category: str | None = None,
        source: str | None = None,
        subject: str | None = None,
    ) -> Tag:
        if isinstance(purposes, str):
            purposes = (purposes,)
        ps = validate_purposes(purposes, " in Tag")
        if not ps:
            raise PolicyError(
                "a Tag needs at least one purpose, e.g. Tag({'security.authentication'})"
            )
        key: _Key = (
            ps,
            _check_label("category", category),
            _check_label("source", source),
            _check_label("subject", subject),
        )
        found = cls._table.get(key)
        if found is not None:
            return found
        with cls._lock:
            found = cls._table.get(key)
            if found is not None:
                return found
            self = object.__new__(cls)
            s = object.__setattr__
            s(self, "purposes", key[0])
            s(self, "category", key[1])
            s(self, "source", key[2])
            s(self, "subject", key[3])
            s(self, "_hash", hash(key))
            # The one-tag set every string tagged with just this tag shares.  It
            # refers back to the tag: a cycle the garbage collector frees.
            s(self, "_single", frozenset((self,)))
            cls._table[key] = self
            return self

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Tag is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Tag is immutable: cannot delete {name!r}")

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, Tag):
            return NotImplemented
        return (
            self.purposes == other.purposes
            and self.category == other.category
            and self.source == other.source
            and self.subject == other.subject
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (Tag, (tuple(sorted(self.purposes)), self.category, self.source, self.subject))

    def __copy__(self) -> Tag:
        return self

    def __deepcopy__(self, memo: object) -> Tag:
        return self

    def with_purposes(self, *purposes: str) -> Tag:
        """This tag with `purposes` added (used by `declassify`)."""
        added = frozenset(validate_purpose(p) for p in purposes)
        return Tag(self.purposes | added, self.category, self.source, self.subject)

    def __repr__(self) -> str:
        parts = [f"purposes={sorted(self.purposes)!r}"]
        if self.category is not None:
            parts.append(f"category={self.category!r}")
        if self.source is not None:
            parts.append(f"source={self.source!r}")
        if self.subject is not None:
            parts.append(f"subject={self.subject!r}")
        return f"Tag({', '.join(parts)})"


_EMPTY: frozenset[Tag] = frozenset()
_TAGSETS: dict[frozenset[Tag], frozenset[Tag]] = {}


def intern_tags(tags: frozenset[Tag]) -> frozenset[Tag]:
    """Share one frozenset object per distinct tag set.

    A one-tag set lives on its tag (freed with it); larger sets sit in a bounded
    cache, which is dropped when full rather than grown.
    """
    if len(tags) == 1:
        for t in tags:
            return t._single
    found = _TAGSETS.get(tags)
    if found is not None:
        return found
    if len(_TAGSETS) >= 8192:
        _TAGSETS.clear()
    _TAGSETS[tags] = tags
    return tags
