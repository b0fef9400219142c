"""Purpose names: grammar, `within`, and errors that quote the bad name."""

from __future__ import annotations

import pytest

from purposetag import PolicyError
from purposetag._purposes import ancestors, validate_purpose, validate_purposes, within


@pytest.mark.parametrize(
    "name", ["security", "security.authentication.two_factor", "a1_b.c_2", "x"]
)
def test_valid(name: str) -> None:
    assert validate_purpose(name) == name


@pytest.mark.parametrize(
    "name", ["", "Marketing", "marketing.", ".marketing", "a..b", "1abc", "a.1b", "a-b", "a b"]
)
def test_malformed_quotes_name_and_example(name: str) -> None:
    with pytest.raises(PolicyError) as err:
        validate_purpose(name, " in policy.toml [compatible]")
    msg = str(err.value)
    assert repr(name) in msg and "in policy.toml [compatible]" in msg
    assert "'security.authentication.two_factor'" in msg  # a valid example
    assert isinstance(err.value, ValueError)


def test_non_str() -> None:
    with pytest.raises(PolicyError, match="is a int, not a str"):
        validate_purpose(5)


def test_validate_purposes_returns_plain_frozenset() -> None:
    assert validate_purposes(["a", "b.c", "a"]) == frozenset({"a", "b.c"})


def test_within_is_hierarchical_not_prefix() -> None:
    assert within("security", "security")
    assert within("security.authentication", "security")
    assert not within("security", "security.authentication")
    assert not within("securityx", "security")
    assert not within("marketing", "security")


def test_ancestors() -> None:
    assert ancestors("a.b.c") == ("a.b.c", "a.b", "a")
    assert ancestors("a") == ("a",)
