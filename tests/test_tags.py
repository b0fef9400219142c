"""Tag: immutable, hashable, interned (weakly), picklable."""

from __future__ import annotations

import copy
import gc
import pickle

import pytest

import purposetag as pt
from purposetag import PolicyError, Tag
from purposetag._tags import intern_tags


def test_interned_equal_is_same_object() -> None:
    a = Tag({"security.authentication", "security"}, category="c", source="s", subject="u1")
    b = Tag(["security", "security.authentication"], category="c", source="s", subject="u1")
    assert a is b and a == b and hash(a) == hash(b)
    assert Tag("x") is Tag(["x"])
    assert Tag("x") is not Tag("x", category="c")
    assert Tag("x") != Tag("y") and Tag("x") != "x"


def test_intern_table_is_weak() -> None:
    key = (frozenset({"weak.check"}), None, None, "subject-42")
    t = Tag("weak.check", subject="subject-42")
    assert Tag._table.get(key) is t
    intern_tags(frozenset({t}))  # the shared one-tag set must not keep it alive
    del t
    gc.collect()
    assert Tag._table.get(key) is None


def test_immutable() -> None:
    t = Tag("x")
    with pytest.raises(AttributeError):
        t.category = "c"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del t.purposes
    assert isinstance(t.purposes, frozenset)


def test_fields_and_repr() -> None:
    t = Tag("b.x", category="user.contact.email", source="signup", subject="u1")
    assert t.purposes == {"b.x"} and t.category == "user.contact.email"
    assert t.source == "signup" and t.subject == "u1"
    assert repr(t) == (
        "Tag(purposes=['b.x'], category='user.contact.email', source='signup', subject='u1')"
    )
    assert repr(Tag(["b", "a"])) == "Tag(purposes=['a', 'b'])"


def test_pickle_copy_keep_identity() -> None:
    t = Tag(["a", "b.c"], category="k")
    for proto in range(pickle.HIGHEST_PROTOCOL + 1):
        assert pickle.loads(pickle.dumps(t, proto)) is t
    assert copy.copy(t) is t and copy.deepcopy(t) is t


def test_errors() -> None:
    with pytest.raises(PolicyError, match="at least one purpose"):
        Tag([])
    with pytest.raises(PolicyError, match="'Bad'"):
        Tag("Bad")
    with pytest.raises(PolicyError, match="category"):
        Tag("x", category="")
    with pytest.raises(PolicyError, match="subject"):
        Tag("x", subject=5)  # type: ignore[arg-type]


def test_with_purposes() -> None:
    t = Tag("a", category="c")
    w = t.with_purposes("b")
    assert w.purposes == {"a", "b"} and w.category == "c" and t.purposes == {"a"}


def test_intern_tags_shares_sets() -> None:
    a, b = Tag("a"), Tag("b")
    assert intern_tags(frozenset({a})) is a._single
    s1 = intern_tags(frozenset({a, b}))
    assert intern_tags(frozenset({b, a})) is s1


@pytest.mark.parametrize("subject", ["ada@example.com", "+44 20 7946 0000", "+15550100"])
def test_subject_must_not_be_contact_data(subject: str) -> None:
    with pytest.raises(pt.PolicyError, match="opaque id") as exc:
        pt.tag("x", "p", subject=subject)
    assert subject not in str(exc.value)


@pytest.mark.parametrize("subject", ["user-42", "1234567", "0f8e4c1a-1b2c-4d5e-8f90-123456789abc"])
def test_opaque_subjects_are_accepted(subject: str) -> None:
    (t,) = pt.tags(pt.tag("x", "p", subject=subject))
    assert t.subject == subject


def test_empty_label_is_refused() -> None:
    with pytest.raises(pt.PolicyError, match="non-empty"):
        pt.Tag(["p"], category="")
