"""The range algebra: build, sub, at, pick, repeat, union, add_tag, map_tags."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from purposetag import Tag
from purposetag import _ranges as R

SA = frozenset({Tag("a")})
SB = frozenset({Tag("b")})


def expand(r: R.Ranges | None, n: int) -> list[frozenset[Tag] | None]:
    return [R.at(r, i) for i in range(n)]


def test_normal_forms() -> None:
    assert R.build([(3, SA, 0)], 3) is SA  # whole string: the shared set itself
    assert R.build([(2, SA, 0), (1, SA, 0)], 3) is SA  # adjacent equal sets merge
    assert R.build([(2, None, 0)], 2) is None
    assert R.build([(1, None, 0), (2, SA, 0)], 3) == ((1, 3, SA),)
    assert R.build([(0, SA, 0), (1, SB, 0)], 1) is SB


def test_build_copies_from_offsets_of_triples() -> None:
    src = ((1, 3, SA), (4, 6, SB))
    assert R.build([(4, src, 2)], 4) == ((0, 1, SA), (2, 4, SB))
    assert R.sub(src, 2, 5) == ((0, 1, SA), (2, 3, SB))
    assert R.sub(SA, 2, 2) is None and R.sub(None, 0, 3) is None


def test_at_pick_repeat_union() -> None:
    r = ((1, 2, SA), (3, 4, SB))
    assert expand(r, 5) == [None, SA, None, SB, None]
    assert R.pick(r, [3, 1]) == ((0, 1, SB), (1, 2, SA))
    assert R.repeat(r, 4, 2) == ((1, 2, SA), (3, 4, SB), (5, 6, SA), (7, 8, SB))
    assert R.repeat(SA, 4, 3) is SA and R.repeat(r, 4, 0) is None
    assert R.union(r) == SA | SB and R.union(None) == frozenset()
    assert R.union_all([None, SA, r]) == SA | SB
    assert R.triples(SA, 3) == [(0, 3, SA)] and R.triples(None, 3) == []


def test_add_tag_and_map_tags() -> None:
    t = Tag("c")
    r = R.add_tag(((1, 2, SA),), 3, t)
    assert expand(r, 3) == [{t}, SA | {t}, {t}]
    assert R.add_tag(None, 2, t) == {t}
    m = R.map_tags(((0, 1, SA), (1, 2, SB)), 2, lambda ts: SA)
    assert m == SA


@given(st.lists(st.tuples(st.integers(0, 4), st.sampled_from([None, SA, SB])), max_size=6))
def test_build_matches_per_char_expansion(segs: list[tuple[int, frozenset[Tag] | None]]) -> None:
    total = sum(n for n, _ in segs)
    r = R.build([(n, s, 0) for n, s in segs], total)
    expected: list[frozenset[Tag] | None] = []
    for n, s in segs:
        expected.extend([s] * n)
    assert expand(r, total) == expected
    if isinstance(r, tuple):  # canonical: sorted, non-overlapping, merged, non-empty
        for (a, b, ts), (c, _d, us) in zip(r, r[1:], strict=False):
            assert a < b <= c and not (b == c and ts == us)
