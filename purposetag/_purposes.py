"""Purpose names: the grammar, validation and the `within` relation."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from ._errors import PolicyError
from ._safe_repr import safe_repr

_PURPOSE_RE = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*")
_EXAMPLE = "lowercase dotted words like 'security.authentication.two_factor'"


def validate_purpose(name: object, where: str = "") -> str:
    """Return `name` if it is a well-formed purpose, else raise `PolicyError`.

    `where` is appended to the name in the message, e.g. " in policy.toml [compatible]".
    """
    if type(name) is str and name in _VALID:
        return name
    if not isinstance(name, str):
        raise PolicyError(
            f"purpose {safe_repr(name)}{where} is a {type(name).__name__}, not a str: "
            f"purposes are {_EXAMPLE}"
        )
    plain = str.__str__(name)
    if _PURPOSE_RE.fullmatch(plain) is None:
        raise PolicyError(f"purpose {safe_repr(name)}{where}: must be {_EXAMPLE}")
    name = plain
    if len(_VALID) < 4096:
        _VALID.add(name)
    return name


_VALID: set[str] = set()


def validate_purposes(names: Iterable[object], where: str = "") -> frozenset[str]:
    """Validate each name and return them as a frozenset."""
    return frozenset(validate_purpose(n, where) for n in names)


def within(use: str, purpose: str) -> bool:
    """True when `use` is `purpose` or one of its descendants."""
    return use == purpose or use.startswith(purpose + ".")


@lru_cache(maxsize=4096)
def ancestors(purpose: str) -> tuple[str, ...]:
    """`purpose` and every ancestor of it, most specific first."""
    parts = purpose.split(".")
    return tuple(".".join(parts[:i]) for i in range(len(parts), 0, -1))
