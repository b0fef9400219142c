"""TaintedStr: every method and operator keeps tags on the characters they came from."""

from __future__ import annotations

import copy
import pickle
import sys
from typing import Any

import pytest

import purposetag as pt
from purposetag import Tag, TaintedStr

A = Tag("security.authentication")
B = Tag("marketing.email")
SA = frozenset({A})
SB = frozenset({B})


def ta(text: str) -> str:
    return pt.tag(text, "security.authentication")


def tb(text: str) -> str:
    return pt.tag(text, "marketing.email")


def chars(value: str) -> list[frozenset[Tag]]:
    """Per-character tag sets."""
    out: list[frozenset[Tag]] = [frozenset()] * len(value)
    for a, b, ts in pt.ranges(value):
        for i in range(a, b):
            out[i] = ts
    return out


def marks(value: str) -> str:
    """One letter per character: a/b for A/B, '+' for both, '.' for untagged."""
    table = {frozenset(): ".", SA: "a", SB: "b", SA | SB: "+"}
    return "".join(table[c] for c in chars(value))


# --- the type itself -----------------------------------------------------------


def test_is_a_str_with_slots_and_equal_hash_and_order() -> None:
    t = ta("alice@example.com")
    assert isinstance(t, str) and type(t) is TaintedStr
    assert not hasattr(t, "__dict__")
    assert t == "alice@example.com" and hash(t) == hash("alice@example.com")
    assert "alice" < t < "bob"
    assert t in {"alice@example.com"}
    assert {t: 1}["alice@example.com"] == 1


def test_one_range_strings_share_their_tag_set() -> None:
    x, y = ta("alice"), ta("bob")
    assert x._pt_ranges is y._pt_ranges


def test_direct_construction() -> None:
    assert type(TaintedStr("plain")) is str
    t = ta("abc")
    assert pt.tags(TaintedStr(t)) == SA


# --- concatenation and repetition ------------------------------------------------


def test_concat_both_orders_exact() -> None:
    t = ta("5551234")
    assert marks(t + "!") == "aaaaaaa."
    assert marks("tel:" + t) == "....aaaaaaa"
    assert marks("tel:" + t + ";" + tb("x")) == "....aaaaaaa.b"
    assert marks(tb("xy") + t) == "bbaaaaaaa"
    assert ("tel:" + t)[:4] == "tel:" and type(("tel:" + t)[:4]) is str
    assert pt.tags(("tel:" + t)[-4:]) == SA


def test_concat_with_empty_pieces() -> None:
    t = ta("abc")
    assert marks(t + "") == "aaa"
    assert marks("" + t) == "aaa"
    e = ta("")
    assert type(e + "abc") is str and e + "abc" == "abc"
    assert type("abc" + e) is str


def test_concat_non_str_raises_like_plain() -> None:
    t = ta("abc")
    for other in (5, None, b"x", ["x"]):
        with pytest.raises(TypeError) as got:
            t + other  # type: ignore[operator]
        with pytest.raises(TypeError) as want:
            "abc" + other  # type: ignore[operator]
        assert str(got.value) == str(want.value)


def test_concat_lets_str_subclass_radd_go_first() -> None:
    class Markup(str):
        def __radd__(self, other: Any) -> Any:
            return Markup("<escaped>" + str.__str__(other))

    t = ta("x")
    assert type(t + Markup("y")) is Markup  # same as "x" + Markup("y")
    assert type("x" + Markup("y")) is Markup


def test_concat_gives_other_types_radd_a_turn() -> None:
    class Right:
        def __radd__(self, other: Any) -> str:
            return "right"

    assert ta("x") + Right() == "right"  # type: ignore[operator]


def test_repetition_both_orders() -> None:
    t = "a" + tb("b")
    assert marks(t * 3) == ".b.b.b"
    assert marks(3 * t) == ".b.b.b"
    assert marks(ta("xy") * 2) == "aaaa"
    assert type(t * 0) is str and t * 0 == ""
    assert type(t * -1) is str
    with pytest.raises(TypeError) as got:
        t * 1.5  # type: ignore[operator]
    with pytest.raises(TypeError) as want:
        "ab" * 1.5  # type: ignore[operator]
    assert str(got.value) == str(want.value)
    with pytest.raises(TypeError):
        [1] * t  # type: ignore[operator]


# --- slicing, indexing, iteration ----------------------------------------------------


def test_slicing_exact_incl_steps_and_negative() -> None:
    s = "ab" + ta("cdef") + "gh" + tb("ij")
    assert marks(s) == "..aaaa..bb"
    assert marks(s[1:4]) == ".aa"
    assert marks(s[-4:]) == "..bb"
    assert marks(s[::2]) == ".aa.b"
    assert marks(s[::-1]) == "bb..aaaa.."
    assert marks(s[8:1:-3]) == "baa"
    assert type(s[:2]) is str and s[:2] == "ab"
    assert type(s[5:5]) is str
    assert type(ta("abc")[3:]) is str


def test_indexing_and_iteration() -> None:
    s = "a" + ta("bc") + "d"
    assert type(s[0]) is str
    assert pt.tags(s[1]) == SA and pt.tags(s[-2]) == SA
    assert type(s[-1]) is str
    assert [pt.tags(c) for c in s] == [frozenset(), SA, SA, frozenset()]
    assert [pt.tags(c) for c in ta("xy")] == [SA, SA]
    assert [pt.tags(c) for c in reversed(s)] == [frozenset(), SA, SA, frozenset()]
    with pytest.raises(IndexError):
        s[9]
    with pytest.raises(TypeError):
        s["x"]  # type: ignore[index]


# --- split family ------------------------------------------------------------------


def test_split_with_and_without_sep() -> None:
    s = "x=" + ta("alice") + ", y=" + tb("bob")
    parts = s.split(", ")
    assert parts == ["x=alice", "y=bob"]
    assert [marks(p) for p in parts] == ["..aaaaa", "..bbb"]
    assert [marks(p) for p in ("  " + ta("a b") + "  c ").split()] == ["a", "a", "."]
    assert [marks(p) for p in s.split("=", 1)] == [".", "aaaaa....bbb"]
    assert [marks(p) for p in s.rsplit("=", 1)] == ["..aaaaa...", "bbb"]
    assert [marks(p) for p in (ta("a b") + " c").rsplit(None, 1)] == ["aaa", "."]
    assert ta("a,,b").split(",") == ["a", "", "b"]
    assert type(ta("a,,b").split(",")[1]) is str
    with pytest.raises(ValueError):
        ta("a").split("")
    with pytest.raises(TypeError):
        ta("a").split(1)  # type: ignore[arg-type]


def test_splitlines_partition_rpartition() -> None:
    s = ta("one\n") + "two\r\n" + tb("three")
    assert [marks(p) for p in s.splitlines()] == ["aaa", "...", "bbbbb"]
    assert [marks(p) for p in s.splitlines(True)] == ["aaaa", ".....", "bbbbb"]
    s2 = ta("user") + "@" + tb("host")
    assert [marks(p) for p in s2.partition("@")] == ["aaaa", ".", "bbbb"]
    assert [marks(p) for p in s2.rpartition("s")] == ["aaaa.bb", "b", "b"]
    assert [marks(p) for p in ta("abc").partition("z")] == ["aaa", "", ""]
    assert [marks(p) for p in ta("abc").rpartition("z")] == ["", "", "aaa"]


# --- strip, affixes, replace -------------------------------------------------------------


def test_strip_family_and_affixes() -> None:
    s = "  " + ta(" ab ") + "  "
    assert marks(s.strip()) == "aa"
    assert marks(s.lstrip()) == "aaa.."
    assert marks(s.rstrip()) == "..aaa"
    assert marks(("xx" + ta("abx")).strip("x")) == "aa"
    assert type(ta("   ").strip()) is str
    assert marks(("pre" + ta("val")).removeprefix("pre")) == "aaa"
    assert marks((ta("val") + ".txt").removesuffix(".txt")) == "aaa"
    assert marks(ta("abc").removeprefix("zz")) == "aaa"


def test_replace() -> None:
    s = ta("a-b-c")
    assert marks(s.replace("-", "+")) == "a.a.a"
    assert marks(s.replace("-", "--", 1)) == "a..aaa"
    assert marks(s.replace("-", tb("#"))) == "ababa"
    assert marks(s.replace("z", "y")) == "aaaaa"
    assert marks(s.replace("-", "+", 0)) == "aaaaa"
    assert marks(ta("ab").replace("", "-")) == ".a.a."
    assert marks(ta("ab").replace("", "-", 2)) == ".a.a"
    assert marks(("x" + ta("ab")).replace("", tb("_"))) == "b.babab"
    # the text is unchanged but the replaced characters come from `new`
    assert marks(ta("aXa").replace("a", tb("a"))) == "bab"
    assert marks(ta("aaa").replace("a", "")) == ""
    assert type(ta("aaa").replace("a", "")) is str
    with pytest.raises(TypeError) as got:
        ta("abc").replace(1, "x")  # type: ignore[arg-type]
    with pytest.raises(TypeError) as want:
        "abc".replace(1, "x")  # type: ignore[arg-type]
    assert str(got.value) == str(want.value)


# --- join --------------------------------------------------------------------------------


def test_join_tagged_separator_and_items() -> None:
    assert marks(ta(", ").join(["x", "y", "z"])) == ".aa.aa."
    assert marks(ta(",").join(["x", tb("y"), ""])) == ".aba"
    assert marks(ta("-").join(iter(["p", "q"]))) == ".a."
    assert marks(ta("-").join(("p",))) == "."
    assert type(ta("-").join(["p"])) is str
    assert ta("-").join([]) == "" and type(ta("-").join([])) is str
    assert marks(ta("").join(["x", tb("y")])) == ".b"
    with pytest.raises(TypeError) as got:
        ta(",").join([1])  # type: ignore[list-item]
    with pytest.raises(TypeError) as want:
        ",".join([1])  # type: ignore[list-item]
    assert str(got.value) == str(want.value)


def test_join_with_plain_separator_needs_instrumentation() -> None:
    # str.join on a plain separator is CPython's own: documented as not propagating.
    assert type(", ".join([ta("x"), "y"])) is str


# --- padding, tabs, zfill --------------------------------------------------------------------


def test_center_ljust_rjust() -> None:
    t = ta("ab")
    assert marks(t.center(5)) == "..aa."  # CPython puts the odd space left
    assert t.center(5) == "ab".center(5)
    assert marks(ta("abc").center(6)) == ".aaa.."
    assert marks(ta("abc").center(6, "*")) == ".aaa.."
    assert marks(t.ljust(4, "-")) == "aa.."
    assert marks(t.rjust(4)) == "..aa"
    assert marks(t.rjust(1)) == "aa"
    assert marks(t.center(4, tb("#"))) == "baab"
    with pytest.raises(TypeError):
        t.center(4, "ab")


def test_zfill_with_signs() -> None:
    assert marks(ta("42").zfill(5)) == "...aa"
    assert marks(ta("-42").zfill(5)) == "a..aa"
    assert marks(ta("+4").zfill(4)) == "a..a"
    assert ta("-42").zfill(5) == "-0042"
    assert marks(ta("42").zfill(1)) == "aa"


def test_expandtabs() -> None:
    s = ta("a\tb") + "\t" + tb("c")
    assert s.expandtabs(4) == "a   b   c"
    assert marks(s.expandtabs(4)) == "aaaaa...b"
    assert marks(s.expandtabs(0)) == "aab"
    assert marks(("x\n" + ta("\t")).expandtabs(2)) == "..aa"


# --- case changes and translate ------------------------------------------------------------


def test_case_changes_exact_when_length_kept() -> None:
    s = "ab" + ta("cd")
    assert marks(s.upper()) == "..aa"
    assert marks(s.title()) == "..aa"
    assert marks(s.swapcase()) == "..aa"
    assert marks(s.capitalize()) == "..aa"
    assert marks(s.casefold()) == "..aa"
    assert marks(ta("abc").lower()) == "aaa"


def test_case_change_that_alters_length_falls_back_to_union() -> None:
    s = "x" + ta("ß") + tb("y")
    up = s.upper()
    assert up == "XSSY"
    assert chars(up) == [SA | SB] * 4
    assert pt.tags(("İ" + ta("a")).lower()) == SA


def test_translate() -> None:
    s = "ab" + ta("ab")
    assert marks(s.translate(str.maketrans("ab", "xy"))) == "..aa"
    multi = s.translate({ord("a"): "AA"})
    assert multi == "AAbAAb"
    assert chars(multi) == [SA] * 6
    deleted = s.translate({ord("a"): None})
    assert deleted == "bb" and chars(deleted) == [SA] * 2


# --- text forms --------------------------------------------------------------------------


def test_str_repr_format() -> None:
    t = "x" + ta("ab")
    assert str(t) is t
    assert marks(repr(t)) == "..aa."
    assert repr(t) == "'xab'"
    escaped = repr(ta("a'\n\""))
    assert chars(escaped) == [SA] * len(escaped)
    assert format(t) == t and marks(format(t)) == ".aa"
    assert marks(format(t, ">5")) == "...aa"
    assert marks(format(t, "<5")) == ".aa.."
    assert marks(format(ta("ab"), "^6")) == "..aa.."
    assert marks(format(ta(" "), ">4")) == "...a"
    assert marks(format(ta("abcd"), ".2")) == "aa"
    assert marks(format(ta("abcd"), "*>4.2")) == "..aa"
    assert marks(format(ta("ab"), "05")) == "aa..."
    with pytest.raises(ValueError):
        format(ta("ab"), "d")


def test_single_field_fstring() -> None:
    t = ta("ab")
    assert pt.tags(f"{t}") == SA
    assert marks(f"{t:>4}") == "..aa"
    assert marks(f"{t!r}") == ".aa."


# --- % and format --------------------------------------------------------------------------


def test_percent_single_tagged_argument_goes_to_rmod() -> None:
    t = ta("alice")
    s = "x=%s;" % t  # noqa: UP031
    assert s == "x=alice;" and marks(s) == "..aaaaa."
    assert marks("%s" % t) == "aaaaa"  # noqa: UP031
    assert marks("[%7s]" % t) == "...aaaaa."  # noqa: UP031
    assert marks("[%-7s]" % t) == ".aaaaa..."  # noqa: UP031
    assert marks("%.2s" % t) == "aa"  # noqa: UP031
    assert marks("%r" % t) == ".aaaaa."  # noqa: UP031


def test_percent_tagged_template() -> None:
    tmpl = ta("id=%d name=%s%%")
    s = tmpl % (7, "bo")
    assert s == "id=7 name=bo%"
    assert marks(s) == "aaa.aaaaaa..a"
    assert marks(tmpl % (7, tb("bo"))) == "aaa.aaaaaabba"
    assert marks(ta("%(k)s!") % {"k": tb("v")}) == "ba"
    assert marks(ta("%*s|") % (3, "x")) == "...a"
    # a converted value's characters come from the value, not the template
    assert marks(ta("%c") % 65) == "."
    assert marks(ta("%c") % tb("q")) == "b"


def test_percent_tagged_value_in_container_keeps_union() -> None:
    s = ta("v=%s") % ([tb("x")],)
    assert pt.tags(s) == SA | SB
    assert marks(s)[:2] == "aa"


def test_percent_errors_like_plain() -> None:
    cases: list[tuple[str, Any]] = [
        ("%s %s", ("x",)),
        ("%s", ()),
        ("abc", 5),
        ("%d", "x"),
        ("%(k)s", ("x",)),
        ("%*s", (1.5, "x")),
        ("%y", 1),
        ("%(k)s", {}),
    ]
    for template, values in cases:
        with pytest.raises(Exception) as want:
            template % values
        with pytest.raises(type(want.value)) as got:
            ta(template) % values
        assert str(got.value) == str(want.value)


def test_percent_value_semantics_same_as_plain() -> None:
    for template, values in [
        ("abc", []),
        ("abc", {"a": 1}),
        ("%(a)s-%(b)r", {"a": 1, "b": "x"}),
        ("%5.1f|%x|%o|%e", (3.14159, 255, 8, 1e3)),
        ("%-6d|%+d|% d|%05d", (1, 2, 3, 4)),
    ]:
        assert ta(template) % values == template % values


def test_format_on_tagged_template() -> None:
    tmpl = ta("Dear {}, {x}!")
    s = tmpl.format(tb("Bo"), x="hi")
    assert s == "Dear Bo, hi!"
    assert marks(s) == "aaaaabbaa..a"
    assert marks(ta("{{{0}}}").format("z")) == "a.a"
    assert marks(ta("{0:>4}|{0!r}").format(tb("ab"))) == "..bba.bb."
    assert marks(ta("{:{}}|").format(tb("ab"), 3)) == "bb.a"
    assert marks(ta("{0.real}").format(5)) == "."
    assert marks(ta("{x[0]}").format(x=[tb("q")])) == "b"
    assert marks(ta("{k}").format_map({"k": tb("v")})) == "b"
    num = ta("n={:05d}").format(pt.tag(42, "marketing.email"))
    assert num == "n=00042" and marks(num) == "aabbbbb"


def test_format_errors_like_plain() -> None:
    for template, args, kwargs in [
        ("{}", (), {}),
        ("{0}{}", (1, 2), {}),
        ("{}{0}", (1, 2), {}),
        ("{x}", (), {}),
        ("{", (), {}),
        ("{:d}", ("s",), {}),
        ("{!z}", (1,), {}),
    ]:
        with pytest.raises(Exception) as want:
            template.format(*args, **kwargs)
        with pytest.raises(type(want.value)) as got:
            ta(template).format(*args, **kwargs)
        assert str(got.value) == str(want.value)


def test_plain_template_format_with_more_text_loses_tags_without_instrumentation() -> None:
    # Pitfall (DESIGN §7): only a single-piece result passes the tagged piece through.
    t = ta("ab")
    assert type("<{}>".format(t)) is str  # noqa: UP032
    assert type(f"<{t}>") is str


# --- codecs --------------------------------------------------------------------------------


def test_encode_keeps_ranges_for_non_ascii() -> None:
    s = "é" + ta("añb") + "z"
    b = s.encode("utf-8")
    assert b == "éañbz".encode()
    assert pt.ranges(b) == [(2, 6, SA)]
    assert pt.ranges(b.decode("utf-8")) == [(1, 4, SA)]
    assert pt.ranges(ta("abc").encode("ascii")) == [(0, 3, SA)]
    assert pt.ranges(("x" + ta("é")).encode("latin-1")) == [(1, 2, SA)]
    u16 = ("x" + ta("y")).encode("utf-16")
    assert pt.ranges(u16) == [(0, len(u16), SA)]
    with pytest.raises(UnicodeEncodeError):
        ta("é").encode("ascii")
    assert pt.tags(ta("é").encode("ascii", "ignore")) == SA


# --- copies and pickles ------------------------------------------------------------------


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_all_protocols(protocol: int) -> None:
    s = "x" + ta("ab") + tb("c")
    back = pickle.loads(pickle.dumps(s, protocol=protocol))
    assert type(back) is TaintedStr and back == s
    assert pt.ranges(back) == pt.ranges(s)
    assert pickle.loads(pickle.dumps(ta("q"), protocol=protocol))._pt_ranges is A._single


def test_copy_and_deepcopy() -> None:
    s = "x" + ta("ab")
    assert pt.ranges(copy.copy(s)) == pt.ranges(s)
    d = copy.deepcopy({"k": [s]})
    assert pt.ranges(d["k"][0]) == pt.ranges(s)


# --- misc methods that return non-strings are the plain ones --------------------------------


def test_queries_are_plain() -> None:
    t = ta("abcabc")
    assert t.count("a") == 2 and t.find("c") == 2 and t.rindex("a") == 3
    assert t.startswith("ab") and t.isalpha() and len(t) == 6
    assert "bca" in t


def test_memory_of_one_range_string_is_small() -> None:
    t = ta("alice.smith@mail.com")
    assert sys.getsizeof(t) <= 2 * sys.getsizeof("alice.smith@mail.com")


def test_format_spec_errors_name_plain_str() -> None:
    import purposetag as pt_

    t = pt_.tag("0", "p")
    with pytest.raises(ValueError) as tagged_err:
        format(t, "x")
    with pytest.raises(ValueError) as plain_err:
        format("0", "x")
    assert str(tagged_err.value) == str(plain_err.value)


def test_format_with_a_spec_that_is_not_a_str_raises_as_str_does() -> None:
    t = pt.tag("ab", "security.authentication")
    for spec in (0, None, b""):
        with pytest.raises(TypeError) as want:
            "ab".__format__(spec)  # type: ignore[arg-type]
        with pytest.raises(TypeError) as got:
            t.__format__(spec)  # type: ignore[arg-type]
        assert str(got.value) == str(want.value)
    assert t.__format__("") is t and pt.is_tagged(f"{t}")
