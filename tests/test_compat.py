"""Standard-library code that used to refuse tagged strings (`purposetag._compat`)."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest

import purposetag as pt

P = "security.account_recovery"


def t(text: str) -> Any:
    return pt.tag(text, P)


CASES = [
    lambda s: pathlib.Path(s("alice.png")),
    lambda s: pathlib.Path("/srv") / s("uploads/alice.png"),
    lambda s: s("/srv") / pathlib.PurePosixPath("a"),
    lambda s: pathlib.Path("/srv").joinpath(s("a"), "b", s("c.txt")),
    lambda s: pathlib.PurePosixPath(s("/a//b/./c")),
    lambda s: pathlib.PureWindowsPath(s("C:\\Users\\alice\\x.txt")),
    lambda s: pathlib.Path("/srv/x.png").with_name(s("alice.png")),
    lambda s: pathlib.Path("/srv/x.png").with_stem(s("alice")),
    lambda s: pathlib.Path("/srv/x.png").with_suffix(s(".jpg")),
    lambda s: pathlib.Path("/srv/alice.png").relative_to(s("/srv")),
    lambda s: pathlib.Path("/srv/alice.png").match(s("*.png")),
    lambda s: pathlib.PurePath(s("a"), s("b")).parts,
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_pathlib_takes_tagged_components(case: int) -> None:
    """As a plain string would be taken (Python 3.11 and 3.12 raised TypeError)."""
    make = CASES[case]
    assert make(t) == make(str)
    assert type(make(t)) is type(make(str))


def test_a_path_is_not_a_string_and_carries_no_tags() -> None:
    p = pathlib.Path("/srv") / t("alice.png")
    assert str(p) == "/srv/alice.png" and type(str(p)) is str
    with pytest.raises(pt.PolicyError):  # a tagged file name is a usable path too
        pt.load_policy(t("/nonexistent/policy.toml"))


def test_namedtuple_takes_tagged_names() -> None:
    """A header row read from tagged data names the fields (it raised TypeError)."""
    import collections
    import pickle
    import typing

    header = t("name,email")
    Row = collections.namedtuple("Row", header)
    assert Row._fields == ("name", "email") and all(type(f) is str for f in Row._fields)
    assert collections.namedtuple(t("Row"), [t("a"), "b"])._fields == ("a", "b")
    assert Row.__module__ == __name__  # made here, as namedtuple records it
    global PickledRow
    PickledRow = collections.namedtuple("PickledRow", "x y")
    assert pickle.loads(pickle.dumps(PickledRow(1, 2))) == (1, 2)
    NT = typing.NamedTuple(t("NT"), [(t("a"), int)])
    assert NT._fields == ("a",) and NT.__name__ == "NT"
    with pytest.raises(ValueError):  # its own checks still apply
        collections.namedtuple("Bad", t("1x"))


PickledRow: Any = None
