"""`Policy`: which further uses are compatible with, or prohibited for, a purpose.

Decision order for one tag and one use (DESIGN §1): prohibited wins; then a
purpose of the tag that contains the use; then a compatible use declared for a
purpose (or an ancestor of it); consent (step 4) is asked by `_decide`.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ._errors import PolicyError
from ._purposes import ancestors, validate_purpose, within
from ._safe_repr import holds_tag, safe_repr
from ._tags import Tag

_TOP_KEYS = frozenset({"compatible", "prohibited", "mode", "sinks"})


def _norm_map(raw: object, where: str) -> dict[str, frozenset[str]]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise PolicyError(
            f"{where}: must be a table mapping a purpose to a list of purposes, "
            f"got a {type(raw).__name__}"
        )
    out: dict[str, frozenset[str]] = {}
    for key, uses in raw.items():
        k = validate_purpose(key, f" in {where}")
        if isinstance(uses, str):
            uses = [uses]
        if not isinstance(uses, Iterable) or isinstance(uses, Mapping | bytes):
            raise PolicyError(
                f"{where} {safe_repr(key)}: must be a list of purposes, "
                f"got a {type(uses).__name__}"
            )
        vals = frozenset(validate_purpose(u, f" in {where} {safe_repr(key)}") for u in uses)
        out[k] = out.get(k, frozenset()) | vals
    return out


def _table_name(where: str, key: str) -> str:
    if where.endswith("[tool.purposetag]"):
        return where[: -len("]")] + "." + key + "]"
    return f"{where} [{key}]"


class Policy:
    """The compatibility map and the prohibited map.

    >>> Policy({"security.authentication": ["security.fraud_detection"]},
    ...        prohibited={"security": ["marketing"]})
    """

    __slots__ = ("_cache", "compatible", "prohibited")

    compatible: Mapping[str, frozenset[str]]
    prohibited: Mapping[str, frozenset[str]]

    def __init__(
        self,
        compatible: Mapping[str, Iterable[str]] | None = None,
        *,
        prohibited: Mapping[str, Iterable[str]] | None = None,
        where: str = "Policy",
    ) -> None:
        # read-only maps: decisions are cached (and guards remember them), so a policy
        # never changes; configure a new one instead
        setter = object.__setattr__
        setter(self, "compatible", MappingProxyType(
            _norm_map(compatible, _table_name(where, "compatible"))
        ))  # fmt: skip
        setter(self, "prohibited", MappingProxyType(
            _norm_map(prohibited, _table_name(where, "prohibited"))
        ))  # fmt: skip
        setter(self, "_cache", {})
        self._cache: dict[tuple[Tag, str], bool | None]

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(
            f"Policy is immutable: cannot set {name!r}; configure a new Policy instead"
        )

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Policy is immutable: cannot delete {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (dict(self.compatible), dict(self.prohibited)))

    def __copy__(self) -> Policy:
        return self

    def __deepcopy__(self, memo: Any) -> Policy:
        return self

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "policy") -> Policy:
        """Build from a mapping with `compatible` / `prohibited` keys (other config keys pass)."""
        if not isinstance(data, Mapping):
            raise PolicyError(f"{where}: a policy must be a table, got a {type(data).__name__}")
        unknown = set(data) - _TOP_KEYS
        if unknown:
            raise PolicyError(
                f"{where}: unknown key(s) {', '.join(sorted(map(safe_repr, unknown)))}; "
                f"expected {', '.join(sorted(_TOP_KEYS))}"
            )
        return cls(
            data.get("compatible"),
            prohibited=data.get("prohibited"),
            where=where,
        )

    def decide(self, tag: Tag, use: str) -> bool | None:
        """Steps 1-3 of the decision: True allowed, False prohibited, None undecided."""
        key = (tag, use)
        try:
            return self._cache[key]
        except KeyError:
            pass
        result = self._decide(tag, use)
        if len(self._cache) > 65536:
            self._cache.clear()
        self._cache[key] = result
        return result

    def _decide(self, tag: Tag, use: str) -> bool | None:
        for p in tag.purposes:
            for anc in ancestors(p):
                for banned in self.prohibited.get(anc, ()):
                    if within(use, banned):
                        return False
        for p in tag.purposes:
            if within(use, p):
                return True
        for p in tag.purposes:
            for anc in ancestors(p):
                for ok in self.compatible.get(anc, ()):
                    if within(use, ok):
                        return True
        return None

    def prohibits(self, tag: Tag, use: str) -> bool:
        return self.decide(tag, use) is False

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Policy):
            return NotImplemented
        return self.compatible == other.compatible and self.prohibited == other.prohibited

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        c = {k: sorted(v) for k, v in sorted(self.compatible.items())}
        p = {k: sorted(v) for k, v in sorted(self.prohibited.items())}
        return f"Policy({c!r}, prohibited={p!r})"


def read_toml_section(path: str | os.PathLike[str]) -> tuple[dict[str, Any], str]:
    """The purposetag table of a TOML file and a label naming where it came from.

    A `pyproject.toml` (or any file with a `[tool]` table) is read at
    `[tool.purposetag]`; any other file at its top level.
    """
    p = Path(path)
    # the label messages name the file by: not the path itself if it holds personal data
    shown = safe_repr(path) if holds_tag(path) else str(p)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__  # (the OSError's text quotes the path)
        raise PolicyError(f"{shown}: cannot read policy file: {reason}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{shown}: not valid TOML: {exc}") from None
    tool = data.get("tool")
    if (isinstance(tool, dict) and "purposetag" in tool) or p.name == "pyproject.toml":
        section = tool.get("purposetag") if isinstance(tool, dict) else None
        if section is None:
            raise PolicyError(f"{shown}: no [tool.purposetag] table")
        if not isinstance(section, dict):
            raise PolicyError(f"{shown}: [tool.purposetag] must be a table")
        return section, f"{shown} [tool.purposetag]"
    return data, shown


def load_policy(path: str | os.PathLike[str]) -> Policy:
    """A `Policy` from a standalone TOML file or `[tool.purposetag]` in a pyproject.toml."""
    section, where = read_toml_section(path)
    return Policy.from_dict(section, where=where)


def _rebuild(compatible: Mapping[str, Any], prohibited: Mapping[str, Any]) -> Policy:
    """Unpickle a `Policy`."""
    return Policy(compatible, prohibited=prohibited)
