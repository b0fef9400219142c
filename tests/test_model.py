"""Model-based check of TaintedStr: random chains of operations against a per-character model.

The model is a plain string plus, for every character, the set of tags it must
carry -- computed from where each output character came from, independently of
the range algebra.  Where the library promises exact ranges the actual per-char
tags must equal the model; where it promises the union fallback, every
character must carry at least the model's tags (and the whole-string union).
"""

from __future__ import annotations

import copy
import pickle
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import purposetag as pt
from purposetag import _ranges as R
from purposetag import _tainted
from purposetag._tags import Tag, intern_tags

A = Tag("security.authentication", category="user.contact.phone_number")
B = Tag("marketing.email", source="signup")
C = Tag("support")
TAGSETS = [
    None,
    frozenset({A}),
    frozenset({B}),
    frozenset({C}),
    frozenset({A, B}),
]
# No '%', '{', '}': the string is used as a template.  'ß' makes upper() longer.
ALPHABET = "ab -,.\t\n0+é"
EMPTY: frozenset[Tag] = frozenset()


@dataclass(frozen=True)
class M:
    """The model: text and the tags each character must carry."""

    text: str
    tags: tuple[frozenset[Tag], ...]

    def __post_init__(self) -> None:
        assert len(self.text) == len(self.tags)

    def __add__(self, other: M) -> M:
        return M(self.text + other.text, self.tags + other.tags)

    def sl(self, a: int, b: int) -> M:
        return M(self.text[a:b], self.tags[a:b])

    @staticmethod
    def plain(text: str) -> M:
        return M(text, (EMPTY,) * len(text))


def realize(m: M) -> str:
    """A TaintedStr (or str) with exactly the model's per-char tags."""
    out: list[R.Triple] = []
    for i, ts in enumerate(m.tags):
        if ts:
            R._push(out, i, i + 1, intern_tags(ts))
    return _tainted.mk_str(m.text, R.normalize(out, len(m.text)))


def per_char(value: str) -> tuple[frozenset[Tag], ...]:
    tags = [EMPTY] * len(value)
    for a, b, ts in pt.ranges(value):
        for i in range(a, b):
            tags[i] = ts
    return tuple(tags)


segment = st.tuples(st.text(ALPHABET, max_size=6), st.sampled_from(TAGSETS))


@st.composite
def models(draw: st.DrawFn, max_segments: int = 4) -> M:
    if draw(st.booleans(), label="one tag over the whole string"):
        text = draw(st.text(ALPHABET, min_size=1, max_size=12))
        return M(text, (draw(st.sampled_from(TAGSETS[1:])),) * len(text))
    segs = draw(st.lists(segment, max_size=max_segments))
    m = M("", ())
    for text, ts in segs:
        m = m + M(text, (ts or EMPTY,) * len(text))
    return m


# --- operations: each returns (actual value, expected model, exact?) --------------


def op_concat(data: st.DataObject, v: str, m: M) -> tuple[str, M, bool]:
    other = data.draw(models(2), label="other")
    ov = realize(other)
    if data.draw(st.booleans(), label="self first"):
        return v + ov, m + other, True
    return ov + v, other + m, True


def op_literal_prefix(data: st.DataObject, v: str, m: M) -> tuple[str, M, bool]:
    lit = data.draw(st.text(ALPHABET, max_size=4), label="literal")
    if data.draw(st.booleans()):
        return lit + v, M.plain(lit) + m, True
    return v + lit, m + M.plain(lit), True


def op_slice(data: st.DataObject, v: str, m: M) -> tuple[str, M, bool]:
    n = len(m.text)
    idx = st.none() | st.integers(-n - 2, n + 2)
    a, b = data.draw(idx, label="start"), data.draw(idx, label="stop")
    step = data.draw(st.none() | st.integers(-3, 3).filter(bool), label="step")
    s = slice(a, b, step)
    return v[s], M(m.text[s], m.tags[s]), True


def op_index(data: st.DataObject, v: str, m: M) -> tuple[str, M, bool]:
    if not m.text:
        return v, m, True
    i = data.draw(st.integers(-len(m.text), len(m.text) - 1), label="index")
    if data.draw(st.booleans(), label="via iteration"):
        return list(v)[i], M(m.text[i], (m.tags[i],)), True
    return v[i], M(m.text[i], (m.tags[i],)), True


def op_strip(data: st.DataObject, v: str, m: M) -> tuple[str, M, bool]:
    name = data.draw(st.sampled_from(["strip", "lstrip", "rstrip"]), label="method")
    chars = data.draw(st.none() | st.text(ALPHABET, max_size=3), label="chars")
    res = getattr(m.text, name)(chars)
    left = 0 if name == "rstrip" else len(m.text) - len(m.text.lstrip(chars))
    return getattr(v, name)(chars), m.sl(left, left + len(res)), True


def op_affix(data: st.DataObject, v: str, m: M) -> tuple[str, M, bool]:
    k = data.draw(st.integers(0, 3))
    if data.draw(st.booleans(), label="prefix"):
        p = m.text[:k] if data.draw(st.booleans()) else "x"
        cut = len(p) if m.text.startswith(p) else 0
        return v.removeprefix(p), m.sl(cut, len(m.text)), True
    p = m.text[len(m.text) - k :] if data.draw(st.booleans()) else "x"
    cut = len(p) if p and m.text.endswith(p) else 0
    return v.removesuffix(p), m.sl(0, len(m.text) - cut), True


def model_replace(m: M, old: str, new: M, count: int) -> M:
    """Naive left-to-right replace, character by character."""
    text, tags = [], []
    i, done, n = 0, 0, len(m.text)
    if not old:
        for i in range(n + 1):
            if count < 0 or done < count:
                text.append(new.text)
                tags.extend(new.tags)
                done += 1
            if i < n:
                text.append(m.text[i])
                tags.append(m.tags[i])
        return M("".join(text), tuple(tags))
    while i < n:
        if (count < 0 or done < count) and m.text.startswith(old, i):
            text.append(new.text)
            tags.extend(new.tags)
            i += len(old)
            done += 1
        else:
            text.append(m.text[i])
            tags.append(m.tags[i])
            i += 1
    return M("".join(text), tuple(tags))


def op_replace(data: st.DataObject, v: str, m: M) -> tuple[str, M, bool]:
    if m.text and data.draw(st.booleans()):
        a = data.draw(st.integers(0, len(m.text) - 1))
        old = m.text[a : a + data.draw(st.integers(0, 2))]
    else:
        old = data.draw(st.text(ALPHABET, max_size=2), label="old")
    new = data.draw(
        st.just(M("", ())) | st.text(ALPHABET, max_size=3).map(M.plain) | models(2), label="new"
    )
    if type(v) is not pt.TaintedStr:  # a plain receiver is plain str.replace
        new = M.plain(new.text)
    count = data.draw(st.integers(-1, 3), label="count")
    return v.replace(old, realize(new), count), model_replace(m, old, new, count), True


def model_split(m: M, sep: str | None, maxsplit: int) -> list[M]:
    """Pieces with their source positions, by scanning."""
    t, n = m.text, len(m.text)
    pieces: list[M] = []
    if sep is None:
        i = 0
        while i < n and t[i].isspace():
            i += 1
        while i < n:
            if maxsplit >= 0 and len(pieces) == maxsplit:
                pieces.append(m.sl(i, n))  # the rest, trailing whitespace kept
                return pieces
            j = i
            while j < n and not t[j].isspace():
                j += 1
            pieces.append(m.sl(i, j))
            while j < n and t[j].isspace():
                j += 1
            i = j
        return pieces
    i = 0
    start = 0
    while i <= n - len(sep):
        if (maxsplit < 0 or len(pieces) < maxsplit) and t.startswith(sep, i):
            pieces.append(m.sl(start, i))
            i += len(sep)
            start = i
        else:
            i += 1
    pieces.append(m.sl(start, n))
    return pieces


def op_split(data: st.DataObject, v: str, m: M) -> tuple[str, M, bool]:
    sep = data.draw(st.none() | st.sampled_from([" ", ",", "a", "ab", "\n", "-"]), label="sep")
    maxsplit = data.draw(st.integers(-1, 3), label="maxsplit")
    parts = v.split(sep, maxsplit)
    expected = model_split(m, sep, maxsplit)
    assert parts == [p.text for p in expected]
    if not parts:
        return v, m, True
    k = data.draw(st.integers(0, len(parts) - 1), label="piece")
    return parts[k], expected[k], True


def op_rsplit(data: st.DataObject, v: str, m: M) -> tuple[str, M, bool]:
    sep = data.draw(st.sampled_from([" ", ",", "a", "ab"]), label="sep")
    parts = v.rsplit(sep)  # no maxsplit: same pieces as split
    expected = model_split(m, sep, -1)
    k = data.draw(st.integers(0, len(parts) - 1), label="piece")
    return parts[k], expected[k], True


def op_splitlines(data: st.DataObject, v: str, m: M) -> tuple[str, M, bool]:
    keep = data.draw(st.booleans(), label="keepends")
    parts = v.splitlines(keep)
    if not parts:
        return v, m, True
    expected: list[M] = []
    start = 0
    for i, ch in enumerate(m.text):
        if ch == "\n":
            expected.append(m.sl(start, i + 1 if keep else i))
            start = i + 1
    if start < len(m.text):
        expected.append(m.sl(start, len(m.text)))
    k = data.draw(st.integers(0, len(parts) - 1), label="piece")
    return parts[k], expected[k], True


def op_partition(data: st.DataObject, v: str, m: M) -> tuple[str, M, bool]:
    sep = data.draw(st.sampled_from([" ", ",", "a", "ab", "zz"]), label="sep")
    right = data.draw(st.booleans(), label="rpartition")
    k = data.draw(st.integers(0, 2), label="piece")
    parts = v.rpartition(sep) if right else v.partition(sep)
    at = m.text.rfind(sep) if right else m.text.find(sep)
    if at < 0:
        bounds = [(0, 0), (0, 0), (0, len(m.text))] if right else [(0, len(m.text)), (0, 0), (0, 0)]
    else:
        bounds = [(0, at), (at, at + len(sep)), (at + len(sep), len(m.text))]
    a, b = bounds[k]
    return parts[k], m.sl(a, b), True


def op_join(data: st.DataObject, v: str, m: M) -> tuple[str, M, bool]:
    items = data.draw(st.lists(models(2), max_size=3), label="items")
    # Without instrumentation a join propagates through a tagged separator.
    if type(v) is pt.TaintedStr and data.draw(st.booleans(), label="self is separator"):
        res = v.join([realize(i) for i in items])
        exp = M("", ())
        for k, it in enumerate(items):
            exp = exp + (m if k else M("", ())) + it
        return res, exp, True
    sep = data.draw(models(1), label="tagged separator")
    if not any(sep.tags):
        sep = M(sep.text + "|", sep.tags + (frozenset({C}),))
    seq = [*items, m]
    res = realize(sep).join([realize(i) if i is not m else v for i in seq])
    exp = M("", ())
    for k, it in enumerate(seq):
        exp = exp + (sep if k else M("", ())) + it
    return res, exp, True


def op_pad(data: st.DataObject, v: str, m: M) -> tuple[str, M, bool]:
    name = data.draw(st.sampled_from(["center", "ljust", "rjust", "zfill"]), label="method")
    width = data.draw(st.integers(-1, len(m.text) + 5), label="width")
    n = len(m.text)
    if name == "zfill":
        res = m.text.zfill(width)
        pad = len(res) - n
        if pad and m.text[:1] in "+-":
            return v.zfill(width), m.sl(0, 1) + M.plain("0" * pad) + m.sl(1, n), True
        return v.zfill(width), M.plain("0" * pad) + m, True
    fill = data.draw(st.sampled_from([" ", "*", "a"]), label="fill")
    res = getattr(m.text, name)(width, fill)
    marg = len(res) - n
    left = {"ljust": 0, "rjust": marg, "center": marg // 2 + (marg & max(width, 0) & 1)}[name]
    exp = M.plain(fill * left) + m + M.plain(fill * (marg - left))
    return getattr(v, name)(width, fill), exp, True


def op_expandtabs(data: st.DataObject, v: str, m: M) -> tuple[str, M, bool]:
    size = data.draw(st.integers(0, 5), label="tabsize")
    text: list[str] = []
    tags: list[frozenset[Tag]] = []
    col = 0
    for ch, ts in zip(m.text, m.tags, strict=True):
        if ch == "\t":
            w = size - col % size if size > 0 else 0
            text.append(" " * w)
            tags.extend([ts] * w)
            col += w
        else:
            text.append(ch)
            tags.append(ts)
            col = 0 if ch in "\n\r" else col + 1
    return v.expandtabs(size), M("".join(text), tuple(tags)), True


def op_percent_template(data: st.DataObject, v: str, m: M) -> tuple[str, M, bool]:
    arg = data.draw(models(2), label="arg")
    spec = data.draw(st.sampled_from(["%s", "%5s", "%-5s", "%.2s", "%r"]), label="spec")
    if spec == "%r":
        arg = M.plain(arg.text.replace("'", ""))  # a plain argument: its repr is untagged
    tail = data.draw(st.text("xy ", max_size=3))
    # A single str argument: the tagged template's __mod__, or the tagged
    # argument's __rmod__ (a tuple on the right would need instrumentation).
    res = (v + spec + tail) % realize(arg)
    text = arg.text if spec != "%r" else repr(arg.text)
    piece = (spec[:-1] + "s") % text if spec != "%r" else text
    kept = min(len(text), 2) if spec == "%.2s" else len(text)
    at = len(piece) - kept if spec == "%5s" else 0
    argm = (
        M.plain(piece[:at]) + M(text[:kept], arg.tags[:kept]) + M.plain(piece[at + kept :])
        if spec != "%r"
        else M.plain(piece)
    )
    return res, m + argm + M.plain(tail), True


def op_percent_value(data: st.DataObject, v: str, m: M) -> tuple[str, M, bool]:
    pre = data.draw(st.text("xy= ", max_size=3), label="prefix")
    post = data.draw(st.text("xy ", max_size=3), label="suffix")
    return (pre + "%s" + post) % v, M.plain(pre) + m + M.plain(post), True


def op_format_template(data: st.DataObject, v: str, m: M) -> tuple[str, M, bool]:
    arg = data.draw(models(2), label="arg")
    if type(v) is not pt.TaintedStr:  # a plain template is plain str.format
        arg = M.plain(arg.text)
    named = data.draw(st.booleans(), label="named")
    tmpl = v + ("{x}" if named else "{}") + "!"
    av = realize(arg)
    res = tmpl.format(x=av) if named else tmpl.format(av)
    return res, m + arg + M.plain("!"), True


def op_format_spec(data: st.DataObject, v: str, m: M) -> tuple[str, M, bool]:
    spec = data.draw(st.sampled_from(["", ">8", "<8", "^9", "*^7", ".2", ">6.3"]), label="spec")
    res = format(v, spec)
    n = len(m.text)
    kept = min(n, int(spec.split(".")[1])) if "." in spec else n
    pad = len(res) - kept
    left = pad if ">" in spec else pad // 2 if "^" in spec else 0
    exp = M.plain(res[:left]) + m.sl(0, kept) + M.plain(res[left + kept :])
    return res, exp, True


def op_repeat(data: st.DataObject, v: str, m: M) -> tuple[str, M, bool]:
    k = data.draw(st.integers(-1, 3), label="times")
    exp = M(m.text * k, m.tags * k if k > 0 else ())
    return (v * k if data.draw(st.booleans()) else k * v), exp, True


def op_case(data: st.DataObject, v: str, m: M) -> tuple[str, M, bool]:
    name = data.draw(st.sampled_from(["upper", "lower", "swapcase", "title", "capitalize"]))
    res = getattr(v, name)()
    plain = getattr(m.text, name)()
    if len(plain) == len(m.text):
        return res, M(plain, m.tags), True
    return res, M(plain, (R.union_all(m.tags) or EMPTY,) * len(plain)), False


def op_sharp_s(data: st.DataObject, v: str, m: M) -> tuple[str, M, bool]:
    """Insert a tagged 'ß' and upper-case: the length changes, the union is promised."""
    v2 = v + pt.tag("ß", "support")
    m2 = m + M("ß", (frozenset({C}),))
    res = v2.upper()
    return res, M(m2.text.upper(), (R.union_all(m2.tags) or EMPTY,) * len(res)), False


def op_codec(data: st.DataObject, v: str, m: M) -> tuple[str, M, bool]:
    b = v.encode("utf-8")
    assert b == m.text.encode("utf-8")
    return b.decode("utf-8"), m, True


def op_copy(data: st.DataObject, v: str, m: M) -> tuple[str, M, bool]:
    how = data.draw(st.sampled_from(["copy", "deepcopy", *range(pickle.HIGHEST_PROTOCOL + 1)]))
    if how == "copy":
        return copy.copy(v), m, True
    if how == "deepcopy":
        return copy.deepcopy(v), m, True
    return pickle.loads(pickle.dumps(v, protocol=how)), m, True


def op_translate(data: st.DataObject, v: str, m: M) -> tuple[str, M, bool]:
    if data.draw(st.booleans(), label="one to one"):
        table = str.maketrans("ab", "ba")
        return v.translate(table), M(m.text.translate(table), m.tags), True
    table = str.maketrans({"a": "AA", "b": None})
    res = v.translate(table)
    if "a" not in m.text and "b" not in m.text:  # nothing mapped: still exact
        return res, m, True
    return res, M(res, (R.union_all(m.tags) or EMPTY,) * len(res)), False


OPS = [
    op_concat,
    op_literal_prefix,
    op_slice,
    op_index,
    op_strip,
    op_affix,
    op_replace,
    op_split,
    op_rsplit,
    op_splitlines,
    op_partition,
    op_join,
    op_pad,
    op_expandtabs,
    op_percent_template,
    op_percent_value,
    op_format_template,
    op_format_spec,
    op_repeat,
    op_case,
    op_sharp_s,
    op_codec,
    op_copy,
    op_translate,
]


def check(value: str, model: M, exact: bool, what: str) -> None:
    assert isinstance(value, str)
    assert str.__str__(value) == model.text, what
    actual = per_char(value)
    expected_union = R.union_all(model.tags)
    if exact:
        assert actual == model.tags, what
    else:
        for got, want in zip(actual, model.tags, strict=True):
            assert got >= want, what
    # tags are never lost, and untagged results are plain str
    assert pt.tags(value) >= expected_union, what
    if not pt.tags(value):
        assert type(value) is str, what


@given(start=models(), data=st.data())
def test_random_chains_match_the_model(start: M, data: st.DataObject) -> None:
    value, model = realize(start), start
    check(value, model, True, "start")
    ops = data.draw(st.lists(st.sampled_from(OPS), min_size=1, max_size=6), label="ops")
    for op in ops:
        value, model, exact = op(data, value, model)
        check(value, model, exact, op.__name__)
        if not exact:  # continue from what the library promised (the union everywhere)
            model = M(model.text, per_char(value))


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.__name__[3:])
@settings(max_examples=60)
@given(start=models(), data=st.data())
def test_each_operation_alone(op: Any, start: M, data: st.DataObject) -> None:
    value, model, exact = op(data, realize(start), start)
    check(value, model, exact, op.__name__)
