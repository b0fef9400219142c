"""`load_config`: apply a whole config file -- policy, mode and sinks -- in one call.

The file is a standalone TOML file or a ``pyproject.toml`` with ``[tool.purposetag]``
(DESIGN §1).  Everything is validated before anything is applied, so a bad file
changes nothing; every error names the file, the key and what is wrong.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import _settings
from ._errors import PolicyError
from ._guard import dotted_name, guard_function
from ._policy import Policy, read_toml_section
from ._purposes import validate_purpose
from ._safe_repr import safe_repr
from ._settings import Mode, validate_mode

_SINK_REQUIRED = ("module", "function", "use")
_SINK_KEYS = frozenset({*_SINK_REQUIRED, "mode"})


@dataclass(frozen=True, slots=True)
class SinkSpec:
    """One ``[[tool.purposetag.sinks]]`` entry."""

    module: str
    function: str
    use: str
    mode: Mode | None = None


@dataclass(frozen=True, slots=True)
class Config:
    """What `load_config` read and applied."""

    policy: Policy
    mode: Mode | None
    sinks: tuple[SinkSpec, ...]


def _sinks(raw: object, where: str) -> tuple[SinkSpec, ...]:
    if where.endswith(" [tool.purposetag]"):
        table = f"{where.removesuffix(' [tool.purposetag]')} [[tool.purposetag.sinks]]"
    else:
        table = f"{where} [[sinks]]"
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise PolicyError(
            f"{table}: must be an array of tables (write [[sinks]] entries), "
            f"got a {type(raw).__name__}"
        )
    out = []
    for i, entry in enumerate(raw):
        here = f"{table} entry {i + 1}"
        if not isinstance(entry, Mapping):
            raise PolicyError(f"{here}: must be a table, got a {type(entry).__name__}")
        unknown = set(entry) - _SINK_KEYS
        if unknown:
            raise PolicyError(
                f"{here}: unknown key(s) {', '.join(sorted(map(safe_repr, unknown)))}; "
                f"expected module, function, use and optionally mode"
            )
        missing = [k for k in _SINK_REQUIRED if k not in entry]
        if missing:
            raise PolicyError(f"{here}: missing key(s) {', '.join(map(repr, missing))}")
        mode = entry.get("mode")
        out.append(
            SinkSpec(
                module=dotted_name(entry["module"], here, "module"),
                function=dotted_name(entry["function"], here, "function"),
                use=validate_purpose(entry["use"], f" in {here} key 'use'"),
                mode=None if mode is None else validate_mode(mode, f"{here}: mode"),
            )
        )
    return tuple(out)


def read_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate a config file without applying it."""
    section, where = read_toml_section(path)
    policy = Policy.from_dict(section, where=where)
    mode = section.get("mode")
    if mode is not None:
        mode = validate_mode(mode, f"{where}: mode")
    return Config(policy=policy, mode=mode, sinks=_sinks(section.get("sinks"), where))


def load_config(path: str | os.PathLike[str]) -> Config:
    """Apply a config file: its policy, its mode (when given) and its sinks.

    Sinks are guarded with `guard_function`, now if their module is imported,
    else when it is.  Returns what was applied.
    """
    config = read_config(path)
    changes: dict[str, Any] = {"policy": config.policy}
    if config.mode is not None:
        changes["mode"] = config.mode
    _settings.update(**changes)
    for sink in config.sinks:
        guard_function(sink.module, sink.function, sink.use, mode=sink.mode)
    return config
