"""@pt.source tags what functions return: sync, async, generators and async generators."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest

import purposetag as pt

P = "security.authentication.two_factor"


def purposes(value: Any) -> set[str]:
    return {p for t in pt.tags(value) for p in t.purposes}


def test_sync_result_is_tagged_with_category_and_source() -> None:
    @pt.source(P, category="user.contact.phone_number", source="settings.two_factor")
    def load_phone(user_id: str) -> str:
        """Read the phone."""
        return "555-0101"

    value = load_phone("u1")
    assert value == "555-0101"
    (tag,) = pt.tags(value)
    assert tag.purposes == frozenset({P})
    assert tag.category == "user.contact.phone_number"
    assert tag.source == "settings.two_factor"
    assert load_phone.__name__ == "load_phone"
    assert load_phone.__doc__ == "Read the phone."
    assert list(inspect.signature(load_phone).parameters) == ["user_id"]


def test_containers_and_objects() -> None:
    @pt.source(P)
    def row() -> dict[str, Any]:
        return {"phone": "555", "age": 42}

    r = row()
    assert purposes(r["phone"]) == {P}
    assert purposes(r["age"]) == {P}
    assert pt.is_tagged(r)


def test_async_result() -> None:
    @pt.source(P)
    async def fetch() -> str:
        await asyncio.sleep(0)
        return "555"

    assert inspect.iscoroutinefunction(fetch)
    assert purposes(asyncio.run(fetch())) == {P}


def test_generator_items_and_send() -> None:
    @pt.source(P)
    def rows() -> Any:
        got = yield "a"
        yield f"{got}"
        return "done"

    assert inspect.isgeneratorfunction(rows)
    g = rows()
    first = next(g)
    assert purposes(first) == {P}
    second = g.send("b")
    assert second == "b" and purposes(second) == {P}
    with pytest.raises(StopIteration) as stop:
        next(g)
    assert stop.value.value == "done"


def test_async_generator_items() -> None:
    @pt.source(P)
    async def rows() -> Any:
        for x in ("a", "b"):
            await asyncio.sleep(0)
            yield x

    async def collect() -> list[Any]:
        return [x async for x in rows()]

    items = asyncio.run(collect())
    assert items == ["a", "b"]
    assert all(purposes(x) == {P} for x in items)


def test_methods() -> None:
    class Repo:
        @pt.source(P)
        def phone(self) -> str:
            return "555"

        @pt.source(P)
        @classmethod
        def default(cls) -> str:
            return "000"

    assert purposes(Repo().phone()) == {P}
    assert purposes(Repo.default()) == {P}


def test_source_then_guard_catches_it() -> None:
    @pt.source(P)
    def load() -> str:
        return "555"

    @pt.guard("marketing")
    def upload(x: Any) -> None:
        pass

    with pytest.raises(pt.PurposeViolation):
        upload(load().strip())


def test_bad_arguments() -> None:
    with pytest.raises(pt.PolicyError):
        pt.source()
    with pytest.raises(pt.PolicyError):
        pt.source("Bad Purpose")
    with pytest.raises(pt.PolicyError):
        pt.source(P, category="")
    with pytest.raises(pt.PolicyError):
        pt.source(P)(42)  # type: ignore[type-var]
