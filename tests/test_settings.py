"""`pt.configure`: only the arguments given change; ``x=None`` resets one to its default."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
import structlog

import purposetag as pt
from purposetag import _settings

# a value other than the default for every parameter of configure()
NON_DEFAULT: dict[str, Any] = {
    "mode": "monitor",
    "policy": pt.Policy({"security": ["security.fraud_detection"]}),
    "logger": structlog.get_logger("elsewhere"),
    "consent": lambda subject: ["marketing"],
    "consent_timeout": 2.5,
    "secret": b"0123456789abcdef-not-the-default",
    "max_depth": 3,
    "max_items": 7,
    "on_truncate": "raise",
}


def test_every_configure_parameter_is_covered() -> None:
    assert set(inspect.signature(pt.configure).parameters) == set(NON_DEFAULT)


@pytest.mark.parametrize("name", sorted(NON_DEFAULT))
def test_none_resets_one_parameter_to_its_default(name: str) -> None:
    default = _settings.Settings()
    others = {k: v for k, v in NON_DEFAULT.items() if k != name}
    pt.configure(**NON_DEFAULT)
    assert getattr(_settings.current(), name) != getattr(default, name)

    pt.configure(**{name: None})

    now = _settings.current()
    if name == "secret":  # the default is a fresh random key
        assert isinstance(now.secret, bytes) and len(now.secret) == 32
        assert now.secret != NON_DEFAULT["secret"]
    else:
        assert getattr(now, name) == getattr(default, name)
    for other, value in others.items():  # only that one changed
        expected = value if other != "consent_timeout" else float(value)
        assert getattr(now, other) is value or getattr(now, other) == expected, other


def test_on_truncate_none_is_log_again() -> None:
    pt.configure(on_truncate="raise", max_depth=1)
    pt.configure(on_truncate=None)
    assert _settings.current().on_truncate == "log"

    @pt.guard("analytics")
    def sink(x: object) -> None:
        pass

    sink([[["deep"]]])  # truncated: logged, not raised


@pytest.mark.parametrize("bad", ["LOG", "", 1, b"log", ["log"]])
def test_on_truncate_refuses_anything_else(bad: object) -> None:
    with pytest.raises(pt.PolicyError, match=r"on_truncate=.*'log' or 'raise'.*None"):
        pt.configure(on_truncate=bad)  # type: ignore[arg-type]


def test_on_truncate_does_not_quote_a_tagged_value() -> None:
    with pytest.raises(pt.PolicyError) as err:
        pt.configure(on_truncate=pt.tag("Ada Lovelace", "security"))  # type: ignore[arg-type]
    assert "Ada" not in str(err.value) and "<tagged str>" in str(err.value)


@pytest.mark.parametrize("bad", [float("inf"), 1e10, 0, -1.0, float("nan"), True, "1"])
def test_consent_timeout_must_be_a_usable_number_of_seconds(bad: object) -> None:
    with pytest.raises(pt.PolicyError, match="consent_timeout"):
        pt.configure(consent_timeout=bad)  # type: ignore[arg-type]
    pt.configure(consent_timeout=1e9)  # within threading.TIMEOUT_MAX: accepted


def test_a_policy_cannot_change_under_its_cached_decisions() -> None:
    import copy
    import pickle

    policy = pt.Policy({"security": ["analytics"]}, prohibited={"security": ["marketing"]})
    with pytest.raises(TypeError):
        policy.prohibited["security"] = frozenset()  # type: ignore[index]
    with pytest.raises(AttributeError, match="immutable"):
        policy.compatible = {}  # type: ignore[misc]
    assert copy.deepcopy(policy) is policy
    back = pickle.loads(pickle.dumps(policy))
    assert back.compatible == policy.compatible and back.prohibited == policy.prohibited
