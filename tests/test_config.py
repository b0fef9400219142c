"""load_config and guard_function: policy, mode and sinks from a file; code you don't own."""

from __future__ import annotations

import importlib
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

import purposetag as pt
from purposetag import _settings

ADS = "marketing.advertising.targeted"
SDK_SOURCE = """
class Audience:
    def __init__(self):
        self.sent = []

    def upload(self, contact):
        self.sent.append(contact)
        return len(self.sent)

    @staticmethod
    def normalize(contact):
        return contact

def send(contact, *, note=None):
    return "sent"
"""


@pytest.fixture
def sdk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A throwaway third-party module, importable but not imported, with a unique name."""
    name = f"adsdk_{uuid.uuid4().hex[:10]}"
    (tmp_path / f"{name}.py").write_text(SDK_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def phone() -> str:
    return pt.tag("555-0101", "security.authentication.two_factor")


def test_guard_function_before_import(sdk: str) -> None:
    pt.guard_function(sdk, "send", ADS)
    pt.guard_function(sdk, "Audience.upload", ADS)
    assert sdk not in sys.modules
    mod = importlib.import_module(sdk)
    assert mod.send("clean") == "sent"
    with pytest.raises(pt.PurposeViolation) as info:
        mod.send(phone())
    assert info.value.sink == f"{sdk}.send"
    audience = mod.Audience()
    with pytest.raises(pt.PurposeViolation) as info:
        audience.upload(phone())
    assert info.value.argument == "args[0]"
    assert info.value.sink == f"{sdk}.Audience.upload"
    assert audience.upload("clean") == 1


def test_guard_function_after_import(sdk: str) -> None:
    mod = importlib.import_module(sdk)
    pt.guard_function(sdk, "Audience.normalize", ADS, mode="monitor")
    pt.guard_function(sdk, "send", ADS)
    with capture_logs() as logs:
        assert mod.Audience.normalize(phone()) == "555-0101"
        assert mod.Audience().normalize(phone()) == "555-0101"
    assert [e["mode"] for e in logs] == ["monitor", "monitor"]
    with pytest.raises(pt.PurposeViolation):
        mod.send("x", note=[phone()])


def test_guard_function_twice_guards_once(sdk: str) -> None:
    pt.guard_function(sdk, "send", ADS, mode="monitor")
    pt.guard_function(sdk, "send", ADS, mode="monitor")
    mod = importlib.import_module(sdk)
    with capture_logs() as logs:
        mod.send(phone())
    assert len(logs) == 1


def test_guard_function_missing_target_logs_and_never_breaks_import(sdk: str) -> None:
    pt.guard_function(sdk, "Audience.nope", ADS)
    with capture_logs() as logs:
        mod = importlib.import_module(sdk)
    assert mod.send("x") == "sent"
    (e,) = logs
    assert e["event"] == "purpose_internal_error"
    assert e["where"] == "guard_function"
    assert e["sink"] == f"{sdk}.Audience.nope"


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("", "f", ADS), {}, "module"),
        (("m", "a b", ADS), {}, "qualname"),
        (("m", "f", "Ads"), {}, "lowercase"),
        (("m", "f", ADS), {"mode": "loud"}, "enforce"),
    ],
)
def test_guard_function_bad_inputs(args: Any, kwargs: Any, message: str) -> None:
    with pytest.raises(pt.PolicyError, match=message):
        pt.guard_function(*args, **kwargs)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_load_config_from_pyproject(tmp_path: Path, sdk: str) -> None:
    path = write(
        tmp_path,
        "pyproject.toml",
        f"""
        [project]
        name = "app"

        [tool.purposetag]
        mode = "monitor"

        [tool.purposetag.compatible]
        "security.authentication" = ["security.fraud_detection"]

        [tool.purposetag.prohibited]
        "security" = ["marketing"]

        [[tool.purposetag.sinks]]
        module = "{sdk}"
        function = "Audience.upload"
        use = "{ADS}"
        mode = "enforce"

        [[tool.purposetag.sinks]]
        module = "{sdk}"
        function = "send"
        use = "{ADS}"
        """,
    )
    config = pt.load_config(path)
    assert config.mode == "monitor"
    assert len(config.sinks) == 2
    s = _settings.current()
    assert s.mode == "monitor"
    assert s.policy.compatible == {
        "security.authentication": frozenset({"security.fraud_detection"})
    }
    mod = importlib.import_module(sdk)
    with pytest.raises(pt.PurposeViolation):  # the sink's own mode beats the file's mode
        mod.Audience().upload(phone())
    with capture_logs() as logs:
        assert mod.send(phone()) == "sent"  # the file's mode: monitor
    assert logs[0]["mode"] == "monitor"
    assert pt.allows(pt.tag("x", "security.authentication"), "security.fraud_detection")


def test_load_config_standalone_toml(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "purposetag.toml",
        """
        [compatible]
        "security.authentication" = ["security.fraud_detection"]
        """,
    )
    config = pt.load_config(path)
    assert config.mode is None and config.sinks == ()
    assert _settings.current().mode is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('mode = "loud"', r"purposetag.toml: mode 'loud'"),
        ('colour = "red"', "unknown key"),
        (
            '[[sinks]]\nmodule = "m"\nfunction = "f"\nuse = "marketing"\nextra = 1',
            r"\[\[sinks\]\] entry 1: unknown key\(s\) 'extra'",
        ),
        ('[[sinks]]\nmodule = "m"\nuse = "marketing"', r"entry 1: missing key\(s\) 'function'"),
        ('[[sinks]]\nmodule = "m"\nfunction = "f"\nuse = "Marketing"', r"entry 1 key 'use'"),
        (
            '[[sinks]]\nmodule = "m"\nfunction = "f"\nuse = "marketing"\nmode = "x"',
            r"entry 1: mode 'x'",
        ),
        ('[[sinks]]\nmodule = "m m"\nfunction = "f"\nuse = "marketing"', "dotted Python name"),
        ('sinks = "adsdk"', "array of tables"),
        ("[compatible]\nMarketing = []", "Marketing"),
        ("not toml [", "not valid TOML"),
    ],
)
def test_load_config_errors_name_file_and_key(tmp_path: Path, body: str, message: str) -> None:
    path = write(tmp_path, "purposetag.toml", body)
    before = _settings.current()
    with pytest.raises(pt.PolicyError, match=message) as info:
        pt.load_config(path)
    assert "purposetag.toml" in str(info.value)
    assert _settings.current() is before  # nothing applied


def test_load_config_missing_file(tmp_path: Path) -> None:
    with pytest.raises(pt.PolicyError, match="cannot read"):
        pt.load_config(tmp_path / "nope.toml")


def test_pyproject_sink_errors_name_the_table(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "pyproject.toml",
        """
        [[tool.purposetag.sinks]]
        module = "m"
        function = "f"
        """,
    )
    with pytest.raises(pt.PolicyError, match=r"\[\[tool.purposetag.sinks\]\] entry 1: missing"):
        pt.load_config(path)
