"""Deep scanning of call arguments (placeholder: containers only; see issue 3)."""

from __future__ import annotations

from ._carriers import deep_tags
from ._ranges import TagSet


def collect_tags(value: object) -> TagSet:
    return deep_tags(value)
