"""The exceptions purposetag raises.  None of them ever carries a raw tagged value."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._tags import Tag


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
        from ._safe_repr import safe_repr

        where = sink if type(sink) is str else safe_repr(sink)
        msg = (
            f"{where}: {argument} may not be used for {safe_repr(use)}: collected for "
            f"{', '.join(repr(str(p)) for p in purposes)}"
        )
        if categories:
            msg += f" (category {', '.join(categories)})"
        super().__init__(msg)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.sink, self.use, self.tags, self.argument))
