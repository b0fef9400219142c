from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

TEST_FILE = """
import pytest
import purposetag as pt

@pt.guard("marketing.advertising")
def upload(v):
    return "uploaded"

def phone():
    return pt.tag("+1 555 0100", "security.authentication")

def test_upload():
    upload(phone())

@pytest.mark.purposetag(mode="monitor")
def test_marked_monitor(purposetag_events):
    assert upload(phone()) == "uploaded"
    assert [e["event"] for e in purposetag_events] == ["purpose_violation"]
    assert "+1 555" not in repr(list(purposetag_events))
"""


def test_enforce_by_default_fails_the_leaking_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TEST_FILE)
    result = pytester.runpytest("-q")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*PurposeViolation*"])


def test_monitor_option_lets_the_suite_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TEST_FILE)
    result = pytester.runpytest("--purposetag-mode=monitor")
    result.assert_outcomes(passed=2)


def test_ini_mode_and_bad_value(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TEST_FILE)
    pytester.makeini("[pytest]\npurposetag_mode = monitor\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)
    bad = pytester.runpytest("--purposetag-mode=loud")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*purposetag-mode*loud*"])


def test_config_option_applies_policy(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".toml",
        policy='[compatible]\n"security.authentication" = ["marketing.advertising"]\n',
    )
    pytester.makepyfile(
        """
import purposetag as pt

@pt.guard("marketing.advertising")
def upload(v):
    return "uploaded"

def test_compatible_use_passes():
    assert upload(pt.tag("+1 555 0100", "security.authentication")) == "uploaded"
"""
    )
    result = pytester.runpytest("--purposetag-config=policy.toml")
    result.assert_outcomes(passed=1)
    broken = pytester.runpytest("--purposetag-config=missing.toml")
    assert broken.ret == pytest.ExitCode.USAGE_ERROR


def test_configure_in_a_test_is_undone_and_events_are_seen_with_any_logger(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(
        """
import purposetag as pt
pt.configure(policy=pt.Policy({"security.authentication": ["analytics"]}))
"""
    )
    pytester.makepyfile(
        """
import pytest
import purposetag as pt

@pt.guard("marketing.advertising")
def upload(v):
    return "uploaded"

@pt.guard("analytics")
def count(v):
    return 1

def phone():
    return pt.tag("+1 555 0100", "security.authentication")

class Quiet:  # a structlog-style logger that writes nowhere
    def info(self, event, **kw): pass
    warning = error = info

def test_a_configures_monitor_and_its_own_logger(purposetag_events):
    pt.configure(mode="monitor", logger=Quiet())
    assert upload(phone()) == "uploaded"
    assert [e["event"] for e in purposetag_events] == ["purpose_violation"]
    assert purposetag_events[0]["log_level"] == "warning"

def test_b_runs_with_the_session_settings_again():
    with pytest.raises(pt.PurposeViolation):
        upload(phone())
    assert count(phone()) == 1  # the conftest policy is still there
"""
    )
    result = pytester.runpytest("-q", "-p", "no:randomly")
    result.assert_outcomes(passed=2)


def test_the_events_fixture_is_a_list(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import purposetag as pt

@pt.guard("marketing.advertising", mode="monitor")
def upload(v):
    return "uploaded"

def test_list_operations(purposetag_events):
    assert purposetag_events == [] and isinstance(purposetag_events, list)
    upload(pt.tag("+1 555 0100", "security.authentication"))
    e = purposetag_events[0]
    assert e in purposetag_events and purposetag_events.count(e) == 1
    assert purposetag_events.index(e) == 0 and purposetag_events.copy() == [e]
    assert list(reversed(purposetag_events)) == [e] and purposetag_events + [] == [e]
    purposetag_events.clear()
    assert len(purposetag_events) == 0
    upload(pt.tag("+1 555 0100", "security.authentication"))
    assert len(purposetag_events) == 1  # still live after clear()
"""
    )
    pytester.runpytest("-q").assert_outcomes(passed=1)


def test_the_plugin_loads_by_its_module_name_too(pytester: pytest.Pytester) -> None:
    """Installed, it is loaded already: naming it again is not an error."""
    pytester.makepyfile(
        """
def test_fixture_there(purposetag_events):
    assert purposetag_events == []
"""
    )
    pytester.runpytest("-p", "purposetag.pytest_plugin").assert_outcomes(passed=1)
    pytester.makeconftest('pytest_plugins = ["purposetag.pytest_plugin"]\n')
    pytester.runpytest().assert_outcomes(passed=1)
    pytester.makeconftest("")
    disabled = pytester.runpytest("-p", "no:purposetag.pytest_plugin")
    disabled.assert_outcomes(errors=1)  # switched off: no fixture


def test_the_ini_config_path_is_relative_to_the_ini_file(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".toml",
        policy='[compatible]\n"security.authentication" = ["marketing.advertising"]\n',
    )
    pytester.makeini("[pytest]\npurposetag_config = policy.toml\n")
    sub = pytester.mkdir("tests").joinpath("sub")
    sub.mkdir()
    sub.joinpath("test_it.py").write_text(
        """
import purposetag as pt

@pt.guard("marketing.advertising")
def upload(v):
    return "uploaded"

def test_compatible_use_passes():
    assert upload(pt.tag("+1 555 0100", "security.authentication")) == "uploaded"
"""
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(sub)
        pytester.runpytest_inprocess(str(sub)).assert_outcomes(passed=1)
