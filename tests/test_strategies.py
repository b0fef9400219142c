from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

import purposetag as pt
from purposetag import strategies as pts
from purposetag._purposes import _PURPOSE_RE


@given(pts.purposes())
def test_purposes_are_well_formed(p: str) -> None:
    assert _PURPOSE_RE.fullmatch(p)
    pt.Tag([p])  # accepted by the model


@given(pts.tags(["security.authentication", "marketing"]))
def test_tags_draw_from_given_purposes(t: pt.Tag) -> None:
    assert t.purposes <= {"security.authentication", "marketing"}
    assert t.purposes


@given(pts.tagged_text(["security.authentication"], category="user.contact.phone_number"))
def test_tagged_text_is_tagged_all_over(s: str) -> None:
    assert isinstance(s, pt.TaintedStr)
    [(start, stop, tags)] = pt.ranges(s)
    assert (start, stop) == (0, len(s))
    assert {t.category for t in tags} == {"user.contact.phone_number"}
    assert not pt.allows(s, "marketing.advertising")


@given(pts.mixed_text(["a", "b.c"]))
def test_mixed_text_ranges_stay_inside_the_string(s: str) -> None:
    for start, stop, tags in pt.ranges(s):
        assert 0 <= start < stop <= len(s)
        assert tags


def test_bad_purpose_list_is_refused_when_written() -> None:
    import pytest

    with pytest.raises(pt.PolicyError, match="Not.Valid"):
        pts.tags(["Not.Valid"])


def test_from_type_tag_is_registered() -> None:
    from purposetag.strategies import _hypothesis_setup_hook

    _hypothesis_setup_hook()

    @given(st.from_type(pt.Tag))
    def inner(t: pt.Tag) -> None:
        assert isinstance(t, pt.Tag)

    inner()
