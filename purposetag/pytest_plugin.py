"""pytest plugin (entry point ``pytest11``): run the test suite with purposetag on.

Options (each with a matching ini key):

- ``--purposetag-mode=enforce|monitor|off`` (ini ``purposetag_mode``): the
  process-wide mode for the session (default: leave it as configured).
- ``--purposetag-config=PATH`` (ini ``purposetag_config``): apply a TOML /
  pyproject file with `purposetag.load_config` before tests run.

Marker ``@pytest.mark.purposetag(mode="monitor", use="marketing")`` runs one test
inside ``pt.mode(...)`` / ``pt.processing(...)``.  Fixture ``purposetag_events``
yields the list of purposetag events (violations, declassifications, untags)
logged while the test ran, whatever logger is configured.  Settings a test changes
with ``pt.configure`` are put back after it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest

_MODES = ("enforce", "monitor", "off")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("purposetag", "purpose limitation checks")
    group.addoption(
        "--purposetag-mode",
        dest="purposetag_mode",
        default=None,
        help="purposetag mode for the session: enforce, monitor or off",
    )
    group.addoption(
        "--purposetag-config",
        dest="purposetag_config",
        default=None,
        help="TOML or pyproject.toml to apply with purposetag.load_config",
    )
    parser.addini("purposetag_mode", "purposetag mode for the session", default="")
    parser.addini("purposetag_config", "purposetag config file to apply", default="")


def _option(config: pytest.Config, name: str) -> str | None:
    value = config.getoption(name)
    if value:
        return str(value)
    ini = config.getini(name)
    return str(ini) if ini else None


def _config_path(config: pytest.Config) -> str | None:
    """``--purposetag-config`` as given (relative to where pytest runs), else the ini
    key relative to the ini file that sets it, wherever pytest is started from."""
    value = config.getoption("purposetag_config")
    if value:
        return str(value)
    ini = config.getini("purposetag_config")
    if not ini:
        return None
    base = config.inipath.parent if config.inipath is not None else config.rootpath
    return str(base / str(ini))  # (an absolute path stays as it is)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "purposetag(mode=None, use=None): run the test in a purposetag mode and/or "
        "processing scope",
    )
    mode = _option(config, "purposetag_mode")
    if mode is not None and mode not in _MODES:
        raise pytest.UsageError(
            f"--purposetag-mode / purposetag_mode {mode!r}: must be one of enforce, monitor, off"
        )
    path = _config_path(config)
    import purposetag as pt

    if path is not None:
        try:
            pt.load_config(path)
        except pt.PolicyError as exc:
            raise pytest.UsageError(f"--purposetag-config: {exc}") from None
    if mode is not None:
        pt.configure(mode=mode)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _purposetag_settings() -> Iterator[None]:
    """What a test sets with `pt.configure` is undone after it (session settings stay)."""
    from purposetag import _settings

    saved = _settings.current()
    try:
        yield
    finally:
        _settings.restore(saved)


@pytest.fixture(autouse=True)
def _purposetag_marker(request: pytest.FixtureRequest) -> Iterator[None]:
    marker = request.node.get_closest_marker("purposetag")
    if marker is None:
        yield
        return
    import purposetag as pt

    unknown = set(marker.kwargs) - {"mode", "use"}
    if marker.args or unknown:
        raise pytest.UsageError(
            f"@pytest.mark.purposetag takes keyword arguments mode= and use= only, "
            f"got {marker.args!r} {sorted(unknown)!r}"
        )
    with ExitStack() as stack:
        if marker.kwargs.get("mode") is not None:
            stack.enter_context(pt.mode(marker.kwargs["mode"]))
        if marker.kwargs.get("use") is not None:
            stack.enter_context(pt.processing(marker.kwargs["use"]))
        yield


@pytest.fixture
def purposetag_events() -> Iterator[list[dict[str, Any]]]:
    """The purposetag events logged during the test (a live list), whatever logger
    `pt.configure(logger=...)` set: each event as it was sent, with ``log_level``."""
    from purposetag import _events

    # a real list (every list operation sees the events): purposetag appends each
    # event it emits, and only those, to the lists in `taps`
    logs: list[dict[str, Any]] = []
    _events.taps.append(logs)
    try:
        yield logs
    finally:  # by identity: another tap may be an equal list
        _events.taps[:] = [t for t in _events.taps if t is not logs]
