"""pt.redact_tagged: tagged values never reach a rendered log line."""

from __future__ import annotations

import dataclasses
import io
import json
from typing import Any

import pytest
import structlog
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import purposetag as pt

P = "security.authentication.two_factor"
REDACTED = f"[tagged: {P}]"


def redact(**event: Any) -> dict[str, Any]:
    return dict(pt.redact_tagged(None, "info", event))


def test_top_level_values_and_the_event_itself() -> None:
    phone = pt.tag("555-0101", P)
    out = redact(event=f"{phone}", phone=phone, n=pt.tag(42, P), raw=pt.tag(b"555", P), ok="x")
    assert out == {"event": REDACTED, "phone": REDACTED, "n": REDACTED, "raw": REDACTED, "ok": "x"}


def test_nested_containers_and_keys_without_mutating_the_input() -> None:
    phone = pt.tag("555-0101", P)
    payload = {"user": {"phones": [phone, "home"], phone: 1}, "t": (1, phone), "s": {phone}}
    out = redact(payload=payload)
    assert out["payload"] == {
        "user": {"phones": [REDACTED, "home"], REDACTED: 1},
        "t": (1, REDACTED),
        "s": [REDACTED],
    }
    assert payload["user"]["phones"][0] is phone  # the caller's data is untouched


def test_untouched_containers_are_kept_as_is() -> None:
    clean = {"a": [1, 2]}
    assert redact(clean=clean)["clean"] is clean


def test_objects_holding_tags_are_redacted_whole() -> None:
    @dataclasses.dataclass
    class User:
        name: str
        phone: Any

    out = redact(user=User("ada", pt.tag("555", P)), other=User("bob", "556"))
    assert out["user"] == REDACTED
    assert out["other"] == User("bob", "556")


def test_cycles_and_depth() -> None:
    loop: list[Any] = [pt.tag("555", P)]
    loop.append(loop)
    out = redact(loop=loop)
    assert out["loop"][0] == REDACTED
    deep: Any = pt.tag("555", P)
    for _ in range(50):
        deep = [deep]
    assert "555" not in json.dumps(redact(deep=deep))


def test_custom_placeholder() -> None:
    proc = pt.RedactTagged(placeholder="<{purposes}>")
    assert proc(None, "info", {"x": pt.tag("555", P)}) == {"x": f"<{P}>"}
    assert "RedactTagged" in repr(proc)


def _render(value: str) -> str:
    out = io.StringIO()
    log = structlog.wrap_logger(
        structlog.PrintLogger(out),
        processors=[pt.redact_tagged, structlog.processors.JSONRenderer()],
    )
    tagged = pt.tag(value, P)
    log.info("sending", contact=tagged, batch=[{"to": tagged}], note="ok " + tagged)
    return out.getvalue()


@settings(max_examples=50)
@given(value=st.text(min_size=4, max_size=30))
def test_rendered_json_never_contains_the_value(value: str) -> None:
    benign = _render("@@@@")
    escaped = json.dumps(value)[1:-1]
    assume(value not in benign and escaped not in benign)
    line = _render(value)
    assert value not in line
    assert escaped not in line


# --- self-referencing structures ----------------------------------------------------


def _kv(**event: Any) -> str:
    log = structlog.wrap_logger(
        structlog.ReturnLogger(),
        processors=[pt.redact_tagged, structlog.processors.KeyValueRenderer()],
    )
    return str(log.info("sync", **event))


def test_a_dict_referencing_itself_is_redacted_all_the_way() -> None:
    row: dict[str, Any] = {"email": pt.tag("ada@example.com", "account.recovery")}
    row["parent"] = row
    line = _kv(row=row)
    assert "ada@example.com" not in line
    out = redact(row=row)["row"]
    assert out["email"] == "[tagged: account.recovery]"
    assert out["parent"] is out  # the back-reference is the redacted copy
    assert row["parent"] is row and pt.is_tagged(row["email"])  # input untouched


def test_a_list_containing_itself_is_redacted_all_the_way() -> None:
    loop: list[Any] = [pt.tag("555-0101", P)]
    loop.append(loop)
    assert "555-0101" not in _kv(loop=loop)
    out = redact(loop=loop)["loop"]
    assert out == [REDACTED, out] and out[1] is out


def test_a_cycle_through_a_tuple_and_a_tag_far_from_the_back_reference() -> None:
    inner: list[Any] = []
    outer = ({"k": inner},)
    inner.append(outer)
    inner.append([["deep", pt.tag("555-0101", P)]])
    out = redact(v=outer)["v"]
    assert "555-0101" not in repr(out)
    assert out[0]["k"][0] is out
    assert out[0]["k"][1] == [["deep", REDACTED]]


def test_mutual_cycle_where_only_one_side_holds_the_tag() -> None:
    a: dict[str, Any] = {"name": "a"}
    b: dict[str, Any] = {"name": "b", "a": a, "phone": pt.tag("555-0101", P)}
    a["b"] = b
    out = redact(a=a, b=b)
    assert "555-0101" not in repr(out)
    assert out["a"]["b"] is out["b"] and out["b"]["a"] is out["a"]  # shared, consistently


def test_untagged_cycles_and_shared_objects_are_kept_as_is() -> None:
    clean: dict[str, Any] = {"a": [1, 2]}
    clean["self"] = clean
    shared = [clean, clean]
    out = redact(clean=clean, shared=shared)
    assert out["clean"] is clean and out["shared"] is shared


_SECRET_TEXT = st.from_regex(r"SECRET[0-9]{1,4}", fullmatch=True)
_SECRET_INT = st.integers(10**12, 10**13)
_TAGGED_LEAF = st.one_of(
    _SECRET_TEXT.map(lambda s: pt.tag(s, P)),
    _SECRET_TEXT.map(lambda s: pt.tag(s.encode(), P)),
    _SECRET_INT.map(lambda n: pt.tag(n, P)),
)
_PLAIN_LEAF = st.one_of(
    st.text(alphabet="abcxyz ", max_size=5), st.integers(0, 99), st.none(), st.booleans()
)
_HASHABLE_LEAF = st.one_of(_PLAIN_LEAF, _SECRET_TEXT.map(lambda s: pt.tag(s, P)))
_KEY = st.one_of(st.text(alphabet="abcxyz", max_size=4), _SECRET_TEXT.map(lambda s: pt.tag(s, P)))


def _containers(kids: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(kids, max_size=4),
        st.lists(kids, max_size=3).map(tuple),
        st.dictionaries(_KEY, kids, max_size=4),
        st.frozensets(_HASHABLE_LEAF, max_size=3),
        st.sets(_HASHABLE_LEAF, max_size=3),
        st.tuples(_HASHABLE_LEAF, _HASHABLE_LEAF).map(lambda t: {t: 1}),  # tuple keys
    )


def _all_containers(root: Any) -> list[Any]:
    out: list[Any] = []
    seen: set[int] = set()
    stack = [root]
    while stack:
        x = stack.pop()
        if type(x) not in (list, tuple, dict, set, frozenset) or id(x) in seen:
            continue
        seen.add(id(x))
        out.append(x)
        stack.extend([*x.keys(), *x.values()] if type(x) is dict else x)
    return out


@st.composite
def _cyclic_events(draw: st.DrawFn) -> dict[str, Any]:
    tree = [draw(st.recursive(st.one_of(_PLAIN_LEAF, _TAGGED_LEAF), _containers, max_leaves=16))]
    containers = _all_containers(tree)
    mutable = [c for c in containers if type(c) in (list, dict)]
    for _ in range(draw(st.integers(0, 5))):  # back-references, self-references, sharing
        target = draw(st.sampled_from(mutable))
        ref = draw(st.sampled_from(containers))
        if type(target) is list:
            target.insert(draw(st.integers(0, len(target))), ref)
        else:
            target[draw(_KEY)] = ref
    event: dict[str, Any] = {"payload": tree}
    if draw(st.booleans()):
        event["again"] = draw(st.sampled_from(containers))  # shared across fields
    return event


def _raw(x: Any) -> str:
    if isinstance(x, pt.TaintedStr):
        return str.__str__(x)
    if isinstance(x, pt.TaintedBytes):
        return bytes.decode(x)
    return str(x.__wrapped__)  # a TaggedValue proxy (of an int here)


def _secrets_in(root: Any) -> list[str]:
    """The raw text of every tagged value reachable from `root`."""
    found: list[str] = []
    for c in _all_containers(root):
        for x in [*c.keys(), *c.values()] if type(c) is dict else c:
            if type(x) in (pt.TaintedStr, pt.TaintedBytes) or isinstance(x, pt.TaggedValue):
                found.append(_raw(x))
    return found


def _assert_nothing_tagged_reachable(out: Any, secrets: list[str]) -> None:
    seen: set[int] = set()
    stack = [out]
    while stack:
        x = stack.pop()
        assert type(x) not in (pt.TaintedStr, pt.TaintedBytes), "a tagged value survived"
        assert not isinstance(x, pt.TaggedValue), "a tagged value survived"
        if type(x) in (list, tuple, dict, set, frozenset):
            if id(x) in seen:
                continue
            seen.add(id(x))
            stack.extend([*x.keys(), *x.values()] if type(x) is dict else x)
        elif isinstance(x, str | bytes):
            text = x if isinstance(x, str) else x.decode("latin-1")
            assert not any(s in text for s in secrets), "raw tagged text survived"
        else:
            assert x is None or type(x) in (int, bool), f"unexpected {type(x)}"
            assert str(x) not in secrets


@settings(max_examples=300, deadline=None)
@given(_cyclic_events())
def test_no_tagged_value_is_reachable_after_redaction(event: dict[str, Any]) -> None:
    secrets = _secrets_in(event)
    out = redact(**event)
    _assert_nothing_tagged_reachable(out, secrets)
    line = _kv(**event)
    for s in secrets:
        assert s not in line


# --- RedactTagged arguments are checked when written ---------------------------------


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"placeholder": 5}, TypeError, ["placeholder", "{purposes}", "5 (int)"]),
        ({"placeholder": None}, TypeError, ["placeholder", "None"]),
        ({"placeholder": b"[x]"}, TypeError, ["placeholder"]),
        ({"placeholder": "{purpose}"}, pt.PolicyError, ["placeholder", "{purpose}"]),
        ({"placeholder": "{}"}, pt.PolicyError, ["placeholder", "only field is {purposes}"]),
        ({"placeholder": "{0}"}, pt.PolicyError, ["placeholder"]),
        ({"placeholder": "{purposes.upper}"}, pt.PolicyError, ["placeholder"]),
        ({"placeholder": "[tagged {"}, pt.PolicyError, ["placeholder", "Single '{'"]),
        ({"placeholder": "{purposes:d}"}, pt.PolicyError, ["placeholder"]),
        ({"placeholder": "{purposes:{w}}"}, pt.PolicyError, ["placeholder"]),
        ({"max_depth": "deep"}, TypeError, ["max_depth", "int >= 0", "'deep' (str)"]),
        ({"max_depth": 2.0}, TypeError, ["max_depth", "int >= 0"]),
        ({"max_depth": True}, TypeError, ["max_depth", "int >= 0"]),
        ({"max_depth": None}, TypeError, ["max_depth", "int >= 0"]),
        ({"max_depth": -1}, pt.PolicyError, ["max_depth", "int >= 0", "-1"]),
    ],
)
def test_bad_arguments_raise_when_written(
    kwargs: dict[str, Any], error: type[Exception], words: list[str]
) -> None:
    with pytest.raises(error) as err:
        pt.RedactTagged(**kwargs)
    for w in words:
        assert w in str(err.value)


def test_a_tagged_argument_is_refused_and_not_quoted() -> None:
    for kwargs in ({"placeholder": pt.tag("Ada {purposes}", P)}, {"max_depth": pt.tag(7, P)}):
        with pytest.raises(TypeError) as err:
            pt.RedactTagged(**kwargs)
        assert "Ada" not in str(err.value) and "7" not in str(err.value)
        assert "<tagged" in str(err.value)


@pytest.mark.parametrize(
    "placeholder, expected",
    [
        ("***", "***"),
        ("<{purposes}>", f"<{P}>"),
        ("{{{purposes!r}}}", "{'" + P + "'}"),
        ("{purposes:>40}", f"{P:>40}"),
    ],
)
def test_good_placeholders_work(placeholder: str, expected: str) -> None:
    proc = pt.RedactTagged(placeholder=placeholder, max_depth=0)
    assert proc(None, "info", {"x": pt.tag("555", P), "ok": 1}) == {"x": expected, "ok": 1}
    # max_depth=0: a container holding a tag is redacted whole
    assert proc(None, "info", {"x": [pt.tag("555", P), "y"]}) == {"x": expected}


def test_a_good_processor_never_loses_the_fields_of_an_event() -> None:
    proc = pt.RedactTagged(placeholder="#", max_depth=3)
    with structlog.testing.capture_logs() as logs:
        out = proc(None, "info", {"event": "e", "x": pt.tag("555", P), "n": 1})
    assert out == {"event": "e", "x": "#", "n": 1}
    assert not [e for e in logs if e.get("event") == "purpose_internal_error"]


def _rendered(exc_info: Any) -> str:
    """An event with `exc_info`, through redact_tagged, then format_exc_info."""
    event = pt.redact_tagged(None, "error", {"event": "failed", "exc_info": exc_info})
    out = structlog.processors.format_exc_info(None, "error", event)
    return json.dumps(out)


def test_exceptions_chained_behind_the_logged_one_are_redacted() -> None:
    phone = pt.tag("555-0101", P)

    def explicit() -> None:
        try:
            raise ValueError(phone)
        except ValueError as e:
            raise RuntimeError("lookup failed") from e

    def implicit() -> None:
        try:
            raise KeyError(phone)
        except KeyError:
            raise RuntimeError("again")  # noqa: B904 - the implicit chain is the point

    def suppressed() -> None:
        try:
            raise ValueError(phone)
        except ValueError:
            raise RuntimeError("clean") from None

    for fn, link in (
        (explicit, "direct cause"),
        (implicit, "During handling"),
    ):
        try:
            fn()
        except RuntimeError as exc:
            text = _rendered(exc)
            assert "555-0101" not in text and "555" not in text, text
            assert REDACTED in text and link in text
            assert "RuntimeError" in text and ("lookup failed" in text or "again" in text)
            assert fn.__name__ in text  # the tracebacks are kept
    try:
        suppressed()
    except RuntimeError as exc:  # nothing tagged is shown: left to format_exc_info
        event = pt.redact_tagged(None, "error", {"event": "x", "exc_info": exc})
        assert event["exc_info"] is exc
    try:
        raise RuntimeError("clean")
    except RuntimeError as exc:
        assert pt.redact_tagged(None, "error", {"event": "x", "exc_info": exc})["exc_info"] is exc


def test_an_exception_groups_members_and_fields_outside_args_are_redacted() -> None:
    phone = pt.tag("555-0101", P)
    try:
        open("/srv/" + phone + ".csv")  # noqa: SIM115, PTH123
    except OSError as exc:
        text = _rendered(exc)
        assert "555-0101" not in text and REDACTED in text and "FileNotFoundError" in text
    try:
        errors = []
        try:
            raise KeyError(phone)
        except KeyError as e:
            try:
                raise ValueError("row 3 failed") from e
            except ValueError as wrapped:
                errors.append(wrapped)
        raise ExceptionGroup("batch failed", errors)
    except ExceptionGroup as group:
        text = _rendered(group)
        assert "555-0101" not in text and "ExceptionGroup" in text
