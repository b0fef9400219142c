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

from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

from ._api import tag as _tag
from ._purposes import validate_purpose
from ._tags import Tag

_WORD = st.from_regex(r"[a-z][a-z0-9_]{0,7}", fullmatch=True)


def purposes(max_depth: int = 3) -> st.SearchStrategy[str]:
    """Well-formed dotted purpose names such as ``security.authentication``."""
    return st.lists(_WORD, min_size=1, max_size=max_depth).map(".".join)


def tags(
    purposes_: Sequence[str] | None = None,
    *,
    categories: Sequence[str] | None = None,
) -> st.SearchStrategy[Tag]:
    """`Tag`s whose purposes are drawn from `purposes_` (or generated)."""
    if purposes_ is not None:
        fixed = [validate_purpose(p) for p in purposes_]
        purpose_sets: st.SearchStrategy[Any] = st.sets(
            st.sampled_from(fixed), min_size=1, max_size=len(fixed)
        )
    else:
        purpose_sets = st.sets(purposes(), min_size=1, max_size=3)
    cats = st.sampled_from(list(categories)) if categories else st.none() | purposes()
    return st.builds(
        lambda ps, c, s, subj: Tag(ps, category=c, source=s, subject=subj),
        purpose_sets,
        cats,
        st.none() | purposes(),
        st.none() | st.from_regex(r"u[0-9]{1,6}", fullmatch=True),
    )


def tagged_text(
    purposes: Sequence[str] | None = None,
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


def mixed_text(purposes: Sequence[str] | None = None) -> st.SearchStrategy[str]:
    """Strings made of tagged and untagged segments (exercises range precision)."""
    piece = st.one_of(
        st.text(max_size=8), tagged_text(purposes, text=st.text(min_size=1, max_size=8))
    )
    return st.lists(piece, min_size=1, max_size=5).map(_concat)


def _concat(parts: list[str]) -> str:
    out = parts[0]
    for p in parts[1:]:
        out = out + p
    return out


def _hypothesis_setup_hook() -> None:
    """Entry point (``hypothesis``): ``st.from_type(Tag)`` draws purposetag tags."""
    st.register_type_strategy(Tag, tags())
