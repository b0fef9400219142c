"""Hypothesis strategies for purposetag: purposes, tags, and tagged values.

Use them to property-test your own code's purpose handling::

    from hypothesis import given
    from purposetag import strategies as pts

    @given(pts.tagged_text(purposes=["security.authentication"]))
    def test_audience_export_refuses_security_data(phone):
        with pytest.raises(pt.PurposeViolation):
            export_audience([phone])

Requires the ``hypothesis`` extra (``pip install purposetag[hypothesis]``).
"""

from __future__ import annotations

# Before hypothesis: importing hypothesis runs its entry points, and an installation
# whose metadata still names ``purposetag.strategies:_hypothesis_setup_hook`` finds
# the hook here even while this module is half loaded (the entry point now names
# ``purposetag._hypothesis_hook``, which never imports this module at import time).
from ._hypothesis_hook import _hypothesis_setup_hook as _hypothesis_setup_hook

# isort: split
from collections.abc import Iterable, Sequence
from typing import Any

from hypothesis import strategies as st

from ._api import tag as _tag
from ._errors import PolicyError
from ._purposes import validate_purpose
from ._safe_repr import safe_repr
from ._tags import Tag

__all__ = ["mixed_text", "purposes", "tagged_text", "tags"]

PurposeNames = Iterable[str] | st.SearchStrategy[str]
"""What `tags`, `tagged_text` and `mixed_text` take as purposes: a non-empty list of
purpose names to draw from, or a strategy that draws purpose names."""

_WORD = st.from_regex(r"[a-z][a-z0-9_]{0,7}", fullmatch=True)


def purposes(max_depth: int = 3) -> st.SearchStrategy[str]:
    """Well-formed dotted purpose names such as ``security.authentication``."""
    return st.lists(_WORD, min_size=1, max_size=max_depth).map(".".join)


def tags(
    purposes_: PurposeNames | None = None,
    *,
    categories: Sequence[str] | None = None,
) -> st.SearchStrategy[Tag]:
    """`Tag`s with one to three purposes drawn from `purposes_`.

    `purposes_` is a non-empty list of purpose names (checked here), a strategy that
    draws purpose names (each drawn name is checked), or None for `purposes()`.
    """
    purpose_sets: st.SearchStrategy[Any]
    if purposes_ is None:
        purpose_sets = st.sets(purposes(), min_size=1, max_size=3)
    elif isinstance(purposes_, st.SearchStrategy):
        purpose_sets = st.sets(purposes_.map(_drawn_purpose), min_size=1, max_size=3)
    elif isinstance(purposes_, str | bytes) or not isinstance(purposes_, Iterable):
        raise TypeError(
            "tags(purposes_=...) takes a list of purpose names or a strategy of purpose "
            f"names, got a {type(purposes_).__name__} {safe_repr(purposes_)}"
        )
    else:
        fixed = sorted({validate_purpose(p, " in tags(purposes_=...)") for p in purposes_})
        if not fixed:
            raise PolicyError(
                "tags(purposes_=...) got an empty list: give at least one purpose name "
                "(or a strategy of them, or None for generated names)"
            )
        purpose_sets = st.sets(st.sampled_from(fixed), min_size=1, max_size=len(fixed))
    cats = st.sampled_from(list(categories)) if categories else st.none() | purposes()
    return st.builds(
        lambda ps, c, s, subj: Tag(ps, category=c, source=s, subject=subj),
        purpose_sets,
        cats,
        st.none() | purposes(),
        st.none() | st.from_regex(r"u[0-9]{1,6}", fullmatch=True),
    )


def tagged_text(
    purposes: PurposeNames | None = None,
    *,
    category: str | None = None,
    text: st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[str]:
    """Strings tagged all over (a `TaintedStr`) with one tag drawn as in `tags`."""
    base = text if text is not None else st.text(min_size=1, max_size=40)
    tag_st = tags(purposes, categories=[category] if category else None)
    return st.builds(
        lambda s, t: _tag(
            s, *sorted(t.purposes), category=t.category, source=t.source, subject=t.subject
        ),
        base,
        tag_st,
    )


def mixed_text(purposes: PurposeNames | None = None) -> st.SearchStrategy[str]:
    """Strings made of tagged and untagged segments (exercises range precision)."""
    piece = st.one_of(
        st.text(max_size=8), tagged_text(purposes, text=st.text(min_size=1, max_size=8))
    )
    return st.lists(piece, min_size=1, max_size=5).map(_concat)


def _drawn_purpose(name: object) -> str:
    return validate_purpose(name, " drawn by the strategy given to tags(purposes_=...)")


def _concat(parts: list[str]) -> str:
    out = parts[0]
    for p in parts[1:]:
        out = out + p
    return out
