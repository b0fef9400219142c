"""The scanner: what it looks into, the paths it names, and what it never touches."""

from __future__ import annotations

import collections
import dataclasses
import gc
from collections import namedtuple
from typing import Any, NamedTuple

import pytest
from structlog.testing import capture_logs

import purposetag as pt
from purposetag._scan import ScanLimitExceeded, Scanner, collect_tags

P = "security.authentication"


def t(value: Any = "secret-value") -> Any:
    return pt.tag(value, P)


def paths(value: Any, root: str = "args[0]") -> list[str]:
    scanner = Scanner()
    scanner.scan(value, root)
    return [f.path for f in scanner.found]


class Point(NamedTuple):
    x: Any
    y: Any


@dataclasses.dataclass
class Contact:
    name: str
    phone: Any


@dataclasses.dataclass(slots=True)
class SlotContact:
    name: str
    phone: Any


class Slotted:
    __slots__ = ("__private", "a", "b")

    def __init__(self) -> None:
        self.a = t()
        self.__private = t()


def test_atoms_and_carriers() -> None:
    assert paths("plain") == []
    assert paths(42) == []
    assert paths(t()) == ["args[0]"]
    assert paths(t(b"bytes")) == ["args[0]"]
    assert paths(t(42)) == ["args[0]"]


def test_containers() -> None:
    assert paths([1, "a", t()]) == ["args[0][2]"]
    assert paths((t(), "x")) == ["args[0][0]"]
    assert paths({"owner": {"phone": t()}}) == ["args[0]['owner']['phone']"]
    assert paths([[1, [2, t()]]]) == ["args[0][0][1][1]"]
    assert paths({t()}) == ["list(args[0])[0]"]
    assert paths(frozenset({1, t()})) != []


def test_dict_keys_are_scanned_and_never_printed() -> None:
    key = pt.tag("ada@example.com", P)
    found = paths({key: 1})
    assert found == ["list(args[0])[0]"]
    assert paths({"x y": t()}) == ["list(args[0].values())[0]"]
    assert "ada@example.com" not in paths({"ada@example.com": t()})[0]


def test_namedtuple_dataclass_and_objects() -> None:
    assert paths(Point(1, t())) == ["args[0].y"]
    Legacy = namedtuple("Legacy", "a b")
    assert paths(Legacy(t(), 2)) == ["args[0].a"]
    assert paths(Contact("ada", t())) == ["args[0].phone"]
    assert paths(SlotContact("ada", t())) == ["args[0].phone"]
    assert sorted(paths(Slotted())) == ["args[0].__private", "args[0].a"]


def test_objects_of_plain_values_keep_their_inline_attributes() -> None:
    """Looking at an object must not ask for its ``__dict__`` when nothing in it can
    hold a tag: CPython would turn its inline attribute values into a dict for
    good, slowing the application's later attribute reads.  (The collector then
    sees a dict among the object's referents.)"""

    class Plain:
        def __init__(self) -> None:
            self.name, self.n, self.kind = "ada", 3, Plain

    def materialized(o: object) -> bool:
        return any(type(x) is dict for x in gc.get_referents(o))

    for obj in (Plain(), Contact("ada", "+44 20"), SlotContact("ada", "+44 20")):
        assert not materialized(obj)  # the premise: inline to begin with
        assert paths(obj) == []
        assert not materialized(obj), type(obj)
    inner = Plain()
    outer = Plain()
    outer.kind = inner  # an object inside: outer is looked into, inner need not be
    inner.name = t()
    assert paths(outer) == ["args[0].kind.name"]
    outer.kind = fresh = Plain()
    assert paths(outer) == [] and not materialized(fresh)


def test_an_attribute_dict_of_a_dict_subclass_is_read() -> None:
    class Contact:
        pass

    class AttrDict(dict):  # type: ignore[type-arg]
        def __init__(self, **kw: Any) -> None:
            super().__init__(**kw)
            self.__dict__ = self

        def items(self) -> Any:
            raise AssertionError("user code ran")

    for kind in (collections.OrderedDict, lambda **kw: collections.defaultdict(str, **kw)):
        c = Contact()
        c.__dict__ = kind(name="ada", phone=t())
        assert paths(c) == ["args[0].phone"]
        assert pt.is_tagged(c) and not pt.allows(c, "marketing")
    assert paths(AttrDict(name="ada", phone=t())) == ["args[0]['phone']"]  # once


def test_objects_inside_other_libraries_wrapt_proxies() -> None:
    import wrapt

    class Traced(wrapt.ObjectProxy):  # type: ignore[misc]
        @property
        def __wrapped__(self) -> Any:  # a subclass's own attribute is not asked
            raise AssertionError("user code ran")

    phone = t("+1 555 0100")
    assert paths(wrapt.ObjectProxy(phone)) == ["args[0].__wrapped__"]
    assert paths([wrapt.ObjectProxy({"k": phone})]) == ["args[0][0].__wrapped__['k']"]
    assert paths(Traced(Contact("ada", phone))) == ["args[0].__wrapped__.phone"]
    assert paths(wrapt.ObjectProxy("plain")) == []
    assert pt.is_tagged(wrapt.ObjectProxy(phone))
    assert not pt.allows(wrapt.ObjectProxy(phone), "marketing")


def test_exception_fields_chains_and_groups() -> None:
    """What a traceback or an error tracker shows: fields CPython keeps outside
    ``args`` (an OSError's file name), the chain behind the exception, a group's
    exceptions; not a context the code suppressed (``raise ... from None``)."""
    mail = t("/srv/ada@x.io.csv")
    try:
        open(mail)  # noqa: SIM115, PTH123
    except OSError as exc:
        assert paths(exc) == ["args[0].filename"]
    assert paths(ImportError("no module", name=t("m"))) == ["args[0].name"]
    try:
        try:
            raise KeyError(t())
        except KeyError as inner:
            raise RuntimeError("lookup failed") from inner
    except RuntimeError as outer:
        assert paths(outer) == ["args[0].__cause__.args[0]"]
        scanner = Scanner(chains=False)  # (what redaction asks of one exception)
        scanner.scan(outer, "args[0]")
        assert scanner.found == []
    try:
        try:
            raise KeyError(t())
        except KeyError:
            raise RuntimeError("clean") from None
    except RuntimeError as suppressed:
        assert paths(suppressed) == []
    group = ExceptionGroup("batch", [ValueError("ok"), KeyError(t())])
    assert paths(group) == ["args[0].args[1][1].args[0]"]  # (its args hold the list)
    assert pt.is_tagged(group) and not pt.allows(group, "marketing")


def test_views_slices_partials_and_attribute_names() -> None:
    import functools
    import types

    od = collections.OrderedDict(k=t())
    assert paths(od.values()) == ["list(args[0])[0]"]
    assert paths(od.items()) and paths(od.keys()) == []
    assert paths(slice(t(), None)) == ["args[0].start"]
    assert paths(functools.partial(print, t(), sep=t())) == [
        "args[0].args[0]",
        "args[0].keywords['sep']",
    ]
    ns = types.SimpleNamespace(**{t("ada_lovelace"): True})
    assert paths(ns) == ["list(args[0].__dict__.keys())[0]"]
    assert pt.is_tagged(ns) and not pt.allows(ns, "marketing")


def test_subclassed_containers_read_storage_not_overrides() -> None:
    class Sneaky(dict):  # type: ignore[type-arg]
        def items(self) -> Any:
            raise AssertionError("user code ran")

        def __iter__(self) -> Any:
            raise AssertionError("user code ran")

        def values(self) -> Any:
            raise AssertionError("user code ran")

    class SneakyList(list):  # type: ignore[type-arg]
        def __iter__(self) -> Any:
            raise AssertionError("user code ran")

        def __len__(self) -> int:
            raise AssertionError("user code ran")

    assert paths(Sneaky(a=t())) == ["args[0]['a']"]
    assert paths(SneakyList([1, t()])) == ["args[0][1]"]


def test_never_calls_properties_getattr_eq_or_hash() -> None:
    class Trap:
        def __init__(self) -> None:
            self.phone = t()

        @property
        def computed(self) -> Any:
            raise AssertionError("property ran")

        def __getattr__(self, name: str) -> Any:
            raise AssertionError("__getattr__ ran")

        def __getattribute__(self, name: str) -> Any:
            if name == "__dict__":
                raise AssertionError("__getattribute__ ran")
            return object.__getattribute__(self, name)

        def __eq__(self, other: object) -> bool:
            raise AssertionError("__eq__ ran")

        def __hash__(self) -> int:
            raise AssertionError("__hash__ ran")

    trap = Trap()
    assert paths([trap, trap]) == ["args[0][0].phone"]


def test_cycles_terminate() -> None:
    a: list[Any] = [t()]
    a.append(a)
    d: dict[str, Any] = {}
    d["self"] = d
    d["v"] = t()
    assert paths(a) == ["args[0][0]"]
    assert paths(d) == ["args[0]['v']"]


def test_depth_limit_is_reported() -> None:
    pt.configure(max_depth=3)
    deep: Any = t()
    for _ in range(5):
        deep = [deep]
    scanner = Scanner()
    scanner.scan(deep, "args[0]")
    assert scanner.found == []
    assert scanner.truncated is not None
    assert scanner.truncated[0] == "max_depth"


def test_item_limit_is_reported_by_guards() -> None:
    pt.configure(max_items=100)

    @pt.guard("marketing")
    def send(x: Any) -> str:
        return "sent"

    with capture_logs() as logs:
        assert send(list(range(1000))) == "sent"
    (e,) = [e for e in logs if e["event"] == "purpose_scan_truncated"]
    assert e["reason"] == "max_items"
    assert e["limit"] == 100
    assert e["sink"].endswith("send")
    assert e["action"] == "logged"


def test_truncation_can_raise() -> None:
    pt.configure(max_depth=2, on_truncate="raise")

    @pt.guard("marketing")
    def send(x: Any) -> str:
        return "sent"

    with pytest.raises(ScanLimitExceeded, match="max_depth=2") as info:
        send([[[["deep"]]]])
    assert isinstance(info.value, pt.PolicyError)


def test_violation_found_before_limit_still_reported() -> None:
    pt.configure(max_items=5, on_truncate="raise")

    @pt.guard("marketing")
    def send(*x: Any) -> str:
        return "sent"

    with capture_logs() as logs, pytest.raises(pt.PurposeViolation):
        send(t(), list(range(100)))
    assert {e["event"] for e in logs} == {"purpose_violation", "purpose_scan_truncated"}


def test_big_list_of_atoms_is_clean() -> None:
    assert paths([f"user{i}" for i in range(10_000)]) == []
    assert paths([*range(5000), t()]) == ["args[0][5000]"]


def test_collect_tags_for_allows() -> None:
    a = pt.tag("x", P)
    b = pt.tag("y", "marketing")
    assert collect_tags(Contact("n", [a, {"k": b}])) == pt.tags(a) | pt.tags(b)
    assert pt.allows(Contact("n", a), P)
    assert not pt.allows(Contact("n", a), "marketing")


def test_opaque_values_are_not_entered() -> None:
    import logging

    assert paths(logging) == []
    assert paths(Contact) == []
    assert paths(lambda: t()) == []


def test_attributes_of_str_and_number_subclasses_are_looked_into() -> None:
    import enum

    class Labelled(str):
        pass

    class Counted(float):
        __slots__ = ("owner",)

    class Color(enum.StrEnum):
        RED = "red"

    email = pt.tag("ada@example.com", "account.recovery")
    s = Labelled("row-1")
    s.owner = email  # type: ignore[attr-defined]
    n = Counted(3)
    n.owner = email

    @pt.guard("marketing.email")
    def send(*args: object) -> str:
        return "sent"

    with pytest.raises(pt.PurposeViolation) as e:
        send(s)
    assert e.value.argument == "args[0].owner"
    with pytest.raises(pt.PurposeViolation):
        send([n])
    assert send(Labelled("plain"), Counted(1), Color.RED, True) == "sent"
