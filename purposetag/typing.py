"""Type aliases for annotating code that uses purposetag."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Literal, TypeAlias

from ._config import Config, SinkSpec
from ._tags import Tag

Mode: TypeAlias = Literal["enforce", "monitor", "off"]
"""A guard mode."""

ConsentProvider: TypeAlias = Callable[[str], Iterable[str]]
"""``subject -> purposes the subject consents to now`` (for `configure(consent=...)`)."""

TagRange: TypeAlias = tuple[int, int, frozenset[Tag]]
"""One ``(start, stop, tags)`` entry of `purposetag.ranges()`."""

__all__ = ["Config", "ConsentProvider", "Mode", "SinkSpec", "TagRange"]
