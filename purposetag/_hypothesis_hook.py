"""The ``hypothesis`` entry point: ``st.from_type(pt.Tag)`` draws purposetag tags.

Kept apart from `purposetag.strategies` on purpose.  Hypothesis runs its entry
points from inside ``import hypothesis``; when the first import is
``from purposetag import strategies``, that import of hypothesis happens while
`purposetag.strategies` is half loaded, so the hook must neither live in it nor
import it when it runs.  It registers a resolver instead, which imports the
strategies only when a test asks for ``st.from_type(Tag)``.
"""

from __future__ import annotations

from typing import Any


def _tag_strategy(_thing: type) -> Any:
    from .strategies import tags

    return tags()


def _hypothesis_setup_hook() -> None:
    """Register `Tag` with hypothesis (runs while ``hypothesis`` is being imported)."""
    from hypothesis import strategies as st

    from ._tags import Tag

    st.register_type_strategy(Tag, _tag_strategy)
