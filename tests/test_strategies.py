from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
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
    with pytest.raises(pt.PolicyError, match="Not.Valid"):
        pts.tags(["Not.Valid"])


def test_from_type_tag_is_registered() -> None:
    from purposetag.strategies import _hypothesis_setup_hook

    _hypothesis_setup_hook()

    @given(st.from_type(pt.Tag))
    def inner(t: pt.Tag) -> None:
        assert isinstance(t, pt.Tag)

    inner()


# --- purpose names given as a strategy ---------------------------------------------


@given(pts.tags(pts.purposes()))
def test_tags_take_a_strategy_of_purposes(t: pt.Tag) -> None:
    assert 1 <= len(t.purposes) <= 3
    assert all(_PURPOSE_RE.fullmatch(p) for p in t.purposes)


@given(pts.tags(st.sampled_from(["security.authentication", "marketing"])))
def test_tags_draw_from_a_sampled_strategy(t: pt.Tag) -> None:
    assert t.purposes and t.purposes <= {"security.authentication", "marketing"}


@given(pts.tagged_text(st.just("security.authentication")), pts.mixed_text(pts.purposes()))
def test_text_strategies_take_a_strategy_of_purposes(s: str, m: str) -> None:
    assert pt.tags(s) and {p for t in pt.tags(s) for p in t.purposes} == {"security.authentication"}
    for start, stop, tags in pt.ranges(m):
        assert 0 <= start < stop <= len(m) and tags


@given(pts.tags(("a", "b.c")), pts.tags(frozenset({"d"})))
def test_tags_take_any_collection_of_names(t: pt.Tag, u: pt.Tag) -> None:
    assert t.purposes <= {"a", "b.c"} and u.purposes == {"d"}


def test_a_strategy_drawing_malformed_names_fails_when_drawn() -> None:
    @given(pts.tags(st.just("Not Valid")))
    def inner(t: pt.Tag) -> None:
        pass

    with pytest.raises(pt.PolicyError, match="Not Valid"):
        inner()


def test_tags_refuse_a_bare_string_and_other_non_lists() -> None:
    with pytest.raises(TypeError, match="list of purpose names or a strategy"):
        pts.tags("security")  # would draw the letters 's', 'e', ...
    with pytest.raises(TypeError, match="list of purpose names or a strategy"):
        pts.tags(5)  # type: ignore[arg-type]
    with pytest.raises(pt.PolicyError, match="empty"):
        pts.tags([])


def test_a_tagged_purpose_name_is_not_quoted() -> None:
    secret = pt.tag("Ada Secret", "security")
    for bad in ([secret], secret):
        with pytest.raises((TypeError, pt.PolicyError)) as err:
            pts.tags(bad)
        assert "Ada Secret" not in str(err.value)
        assert "<tagged" in str(err.value)


# --- import order (each in a fresh interpreter) ------------------------------------

_DRAW_TAG = """
import purposetag as pt
from hypothesis import given, settings, strategies as st
seen = []
@settings(max_examples=5, database=None)
@given(st.from_type(pt.Tag))
def draw(t):
    seen.append(t)
draw()
assert seen and all(isinstance(t, pt.Tag) for t in seen), seen
print("ok")
"""


def _run(code: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_NO_PLUGINS"}
    proc = subprocess.run(
        [sys.executable, *args, "-c", code] if not args else [sys.executable, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.mark.parametrize(
    "first",
    [
        "from purposetag import strategies as pts",
        "import purposetag.strategies",
        "import purposetag, purposetag.strategies",
        "import hypothesis; from purposetag import strategies as pts",
        "from hypothesis import strategies; import purposetag.strategies",
    ],
)
def test_every_import_order_works(first: str) -> None:
    out = _run(
        f"{first}\nimport hypothesis\nfrom purposetag import strategies as pts\n"
        "assert callable(pts.tags) and callable(pts._hypothesis_setup_hook)\n" + _DRAW_TAG
    )
    assert out.strip().endswith("ok")


def test_a_test_file_importing_strategies_first_collects(tmp_path: Path) -> None:
    test = tmp_path / "test_first.py"
    test.write_text(
        "from purposetag import strategies as pts\n"
        "from hypothesis import given\n\n"
        "@given(pts.tags(pts.purposes()))\n"
        "def test_it(t):\n"
        "    assert t.purposes\n"
    )
    out = _run("", "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test))
    assert "1 passed" in out


def test_the_entry_point_target_loads_without_hypothesis_or_the_strategies() -> None:
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    target = tomllib.loads(pyproject.read_text())["project"]["entry-points"]["hypothesis"][
        "purposetag"
    ]
    module, _, attr = target.partition(":")
    out = _run(
        "import sys, importlib\n"
        f"hook = getattr(importlib.import_module({module!r}), {attr!r})\n"
        "assert callable(hook)\n"
        "assert 'purposetag.strategies' not in sys.modules\n"
        "assert 'hypothesis' not in sys.modules\n"
        "print('ok')\n"
    )
    assert out.strip() == "ok"
