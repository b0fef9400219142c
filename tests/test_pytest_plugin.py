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
