"""The exceptions purposetag raises.  None of them ever carries a raw tagged value."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._tags import Tag


_ATOMS = (str, int, float, bool, type(None))


def shown(value: object) -> str:
    """`value` as an error message may quote it: ``repr`` of a plain str or number
    (or a small builtin container of them), else a description.  A tagged value, or
    an object whose repr could contain one, is never quoted: it may be the personal
    data we protect."""
    try:
        from ._carriers import deep_tags

        if deep_tags(value, limit=64):
            what = type(getattr(value, "__wrapped__", value)).__name__
            return "<tagged str>" if isinstance(value, str) else f"<tagged {what}>"
        t = type(value)
        if t in _ATOMS:
            text = repr(value)
        elif t in (list, tuple, set, frozenset, dict) and _all_atoms(value):
            text = repr(value)
        else:
            return f"<{t.__name__} object>"
    except Exception:
        return "<unprintable value>"
    return text if len(text) <= 200 else text[:197] + "..."


def _all_atoms(value: object) -> bool:
    items = list(value.items()) if isinstance(value, dict) else list(value)  # type: ignore[call-overload]
    flat = [x for kv in items for x in (kv if isinstance(value, dict) else (kv,))]
    return len(flat) <= 32 and all(type(x) in _ATOMS for x in flat)


class PurposeTagError(Exception):
    """Base class of every error purposetag raises on purpose."""


class PolicyError(PurposeTagError, ValueError):
    """A purpose name, policy, configuration or call is malformed.

    Raised where the bad input is written, with a message that names it and says
    what a valid one looks like.
    """


class PurposeViolation(PurposeTagError):
    """Data collected for some purposes reached code that uses it for another.

    The message names the sink, the use, the argument path and the purposes and
    categories of the offending tags -- never the value itself.
    """

    sink: str
    use: str
    tags: frozenset[Tag]
    argument: str

    def __init__(self, sink: str, use: str, tags: frozenset[Tag], argument: str) -> None:
        self.sink = sink
        self.use = use
        self.tags = tags
        self.argument = argument
        purposes = sorted({p for t in tags for p in t.purposes})
        categories = sorted({t.category for t in tags if t.category})
        where = sink if type(sink) is str else shown(sink)
        msg = (
            f"{where}: {argument} may not be used for {shown(use)}: collected for "
            f"{', '.join(repr(str(p)) for p in purposes)}"
        )
        if categories:
            msg += f" (category {', '.join(categories)})"
        super().__init__(msg)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.sink, self.use, self.tags, self.argument))
