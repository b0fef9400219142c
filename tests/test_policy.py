"""Policy: decision order, hierarchy, loading from dict / TOML / pyproject, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

import purposetag as pt
from purposetag import Policy, PolicyError, Tag
from purposetag._policy import load_policy, read_toml_section

TWO_FA = Tag("security.authentication.two_factor")


def test_own_purpose_and_descendants_allowed() -> None:
    p = Policy()
    assert p.decide(TWO_FA, "security.authentication.two_factor") is True
    assert p.decide(TWO_FA, "security.authentication.two_factor.sms") is True
    assert p.decide(TWO_FA, "security.authentication") is None  # wider use: undecided
    assert p.decide(TWO_FA, "marketing") is None


def test_compatible_via_ancestor_of_purpose() -> None:
    p = Policy({"security.authentication": ["security.fraud_detection"]})
    assert p.decide(TWO_FA, "security.fraud_detection") is True
    assert p.decide(TWO_FA, "security.fraud_detection.scoring") is True
    assert p.decide(TWO_FA, "security") is None
    assert p.decide(Tag("security"), "security.fraud_detection") is True  # own purpose


def test_prohibited_wins_with_hierarchy_on_both_sides() -> None:
    p = Policy(
        {"security": ["marketing.advertising"]},
        prohibited={"security.authentication": ["marketing"]},
    )
    # compatible would allow, but an ancestor purpose prohibits an ancestor use
    assert p.decide(TWO_FA, "marketing.advertising.targeted") is False
    assert p.decide(Tag("security.other"), "marketing.advertising") is True
    # prohibited wins even over the tag's own purpose
    p2 = Policy(prohibited={"security": ["security.authentication.two_factor"]})
    assert p2.decide(TWO_FA, "security.authentication.two_factor") is False
    assert p2.prohibits(TWO_FA, "security.authentication.two_factor.sms")
    assert not p2.prohibits(TWO_FA, "security.other")


def test_decision_order_with_several_purposes() -> None:
    t = Tag({"marketing.email", "security"})
    p = Policy(prohibited={"security": ["marketing.email"]})
    assert p.decide(t, "marketing.email") is False


def test_from_dict_and_equality_and_repr() -> None:
    p = Policy.from_dict({"compatible": {"a": "b"}, "prohibited": {"c": ["d", "e"]}, "mode": "x"})
    assert p == Policy({"a": ["b"]}, prohibited={"c": ["d", "e"]})
    assert "prohibited" in repr(p)
    with pytest.raises(PolicyError, match="unknown key.*'compatibles'"):
        Policy.from_dict({"compatibles": {}})
    with pytest.raises(PolicyError, match="must be a table"):
        Policy.from_dict(["x"])  # type: ignore[arg-type]
    with pytest.raises(PolicyError, match="'Bad'"):
        Policy({"Bad": ["x"]})
    with pytest.raises(PolicyError, match="list of purposes"):
        Policy({"a": 5})  # type: ignore[dict-item]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_load_standalone_toml(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "policy.toml",
        '[compatible]\n"security.authentication" = ["security.fraud_detection"]\n'
        '[prohibited]\nsecurity = ["marketing"]\n',
    )
    p = load_policy(path)
    assert p.compatible == {"security.authentication": {"security.fraud_detection"}}
    assert p.prohibited == {"security": {"marketing"}}
    assert pt.load_policy(str(path)) == p


def test_load_pyproject_section(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "pyproject.toml",
        '[project]\nname = "app"\n[tool.purposetag]\nmode = "monitor"\n'
        '[tool.purposetag.compatible]\n"security.authentication" = ["security.fraud_detection"]\n'
        '[[tool.purposetag.sinks]]\nmodule = "m"\nfunction = "f"\nuse = "marketing"\n',
    )
    p = load_policy(path)
    assert p.decide(TWO_FA, "security.fraud_detection") is True
    section, where = read_toml_section(path)
    assert section["mode"] == "monitor" and where.endswith("[tool.purposetag]")


def test_errors_name_file_and_key(tmp_path: Path) -> None:
    bad_key = _write(tmp_path, "pyproject.toml", "[tool.purposetag]\ncompatble = {}\n")
    with pytest.raises(PolicyError) as err:
        load_policy(bad_key)
    assert str(bad_key) in str(err.value) and "'compatble'" in str(err.value)

    bad_purpose = _write(tmp_path, "p.toml", '[tool.purposetag.compatible]\n"Marketing" = ["x"]\n')
    with pytest.raises(PolicyError) as err:
        load_policy(bad_purpose)
    msg = str(err.value)
    assert "'Marketing'" in msg and str(bad_purpose) in msg
    assert "[tool.purposetag.compatible]" in msg

    bad_use = _write(tmp_path, "q.toml", '[prohibited]\nsecurity = ["Ads!"]\n')
    with pytest.raises(PolicyError, match=r"'Ads!'.*q\.toml \[prohibited\] 'security'"):
        load_policy(bad_use)

    with pytest.raises(PolicyError, match="cannot read") as err:
        load_policy(tmp_path / "missing.toml")
    assert "missing.toml" in str(err.value)
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path)  # a directory

    broken = _write(tmp_path, "broken.toml", "[compatible\n")
    with pytest.raises(PolicyError, match="not valid TOML") as err:
        load_policy(broken)
    assert "broken.toml" in str(err.value)

    no_section = _write(tmp_path, "pyproject.toml", "[project]\n")
    with pytest.raises(PolicyError, match=r"no \[tool.purposetag\]"):
        load_policy(no_section)

    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe")
    with pytest.raises(PolicyError, match="not valid TOML"):
        load_policy(binary)


def test_configure_policy_affects_allows() -> None:
    v = pt.tag("555", "security.authentication.two_factor")
    assert not pt.allows(v, "security.fraud_detection")
    pt.configure(policy=Policy({"security.authentication": ["security.fraud_detection"]}))
    assert pt.allows(v, "security.fraud_detection")
    pt.configure(policy=None)
    assert not pt.allows(v, "security.fraud_detection")
    with pytest.raises(PolicyError):
        pt.configure(policy=42)  # type: ignore[arg-type]


def test_messages_never_quote_a_tagged_key_or_path() -> None:
    secret = pt.tag("ada@example.com", "security")
    for call in (
        lambda: pt.configure(policy={secret: {}}),
        lambda: pt.load_policy("/etc/app/" + secret + ".toml"),
        lambda: pt.load_config(secret),
        lambda: pt.Policy.from_dict({secret: {}}),
    ):
        with pytest.raises(pt.PolicyError) as info:
            call()
        assert "ada@example.com" not in str(info.value) and "tagged" in str(info.value)
    with pytest.raises(pt.PolicyError, match="/nonexistent/p.toml: cannot read policy file"):
        pt.load_policy("/nonexistent/p.toml")  # an untagged path is shown as it is
