"""Scoped mode and ambient use (`pt.mode`, `pt.processing`) and effective-mode resolution.

Each scope lives in a module-level `ContextVar` holding an immutable value (a
mode string, a purpose string), set on entry and reset by token on exit, so
scopes are per thread and per asyncio task.  A thread started without a copied
context sees no scope: only the process-wide settings apply.

Effective mode, most specific first (DESIGN §2):

0. ``PURPOSETAG_MODE=off`` in the environment: a kill switch that wins over everything;
1. the innermost ``pt.mode(...)`` scope;
2. the guard's own ``mode=`` (or a sink's ``mode`` in the config file);
3. ``pt.configure(mode=...)`` (or ``mode`` in the config file);
4. ``PURPOSETAG_MODE`` (``enforce`` or ``monitor``);
5. ``enforce``.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import AsyncGenerator, Callable, Generator
from contextvars import ContextVar
from types import TracebackType
from typing import Any, Generic, TypeVar

from . import _settings
from ._errors import PolicyError
from ._purposes import validate_purpose
from ._settings import MODES, Mode, validate_mode

F = TypeVar("F", bound=Callable[..., Any])
V = TypeVar("V")

SCOPE_MODE: ContextVar[Mode | None] = ContextVar("purposetag_mode", default=None)
SCOPE_USE: ContextVar[str | None] = ContextVar("purposetag_use", default=None)

# Reading `os.environ` costs ~300 ns (key encoding, value decoding); the mapping's
# backing dict costs ~30 ns and is what `os.environ[...] = ...` and monkeypatch update.
_ENV_DATA: Any = getattr(os.environ, "_data", None)
_ENV_KEY: Any
if isinstance(_ENV_DATA, dict) and hasattr(os.environ, "encodekey"):
    _ENV_KEY = os.environ.encodekey("PURPOSETAG_MODE")
else:  # pragma: no cover - another os.environ: slower, still live
    _ENV_DATA, _ENV_KEY = os.environ, "PURPOSETAG_MODE"
_ENV_PARSED: dict[Any, Mode | None] = {}


def _parse_env(raw: Any) -> Mode | None:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    text = text.strip().lower()
    mode: Mode | None = text if text in MODES else None  # type: ignore[assignment]
    if len(_ENV_PARSED) < 64:
        _ENV_PARSED[raw] = mode
    if text and mode is None:
        from . import _events

        _events.emit(
            "warning",
            "purpose_config_ignored",
            setting="PURPOSETAG_MODE",
            reason="must be one of 'enforce', 'monitor', 'off'; ignored",
        )
    return mode


def env_mode() -> Mode | None:
    """``PURPOSETAG_MODE`` now (read on every call, cheaply); None when unset or invalid."""
    raw = _ENV_DATA.get(_ENV_KEY)
    if raw is None:
        return None
    try:
        return _ENV_PARSED[raw]
    except KeyError:
        return _parse_env(raw)


def effective_mode(own: Mode | None = None) -> Mode:
    """The mode a guard whose own ``mode=`` is `own` runs in now (see the module doc)."""
    env = env_mode()
    if env == "off":
        return "off"
    scoped = SCOPE_MODE.get()
    if scoped is not None:
        return scoped
    if own is not None:
        return own
    configured = _settings.current().mode
    if configured is not None:
        return configured
    if env is not None:
        return env
    return "enforce"


def ambient_use() -> str | None:
    """The use declared by the innermost ``pt.processing(...)`` scope, if any."""
    return SCOPE_USE.get()


# The scopes entered in the current context, innermost last: (scope, its variable, the
# value to restore when it exits).  Kept in a ContextVar so one scope object may be
# entered from many threads and tasks at once.
_ENTERED: ContextVar[tuple[tuple[object, ContextVar[Any], Any], ...]] = ContextVar(
    "purposetag_entered", default=()
)


class _Scope(Generic[V]):
    """Set a ContextVar for a ``with`` block or for every call of a decorated function."""

    __slots__ = ("_value", "_var")

    _var: ContextVar[V]

    def __init__(self, var: ContextVar[V], value: V) -> None:
        self._var = var
        self._value = value

    def __enter__(self) -> None:
        var = self._var
        before = var.get()  # (every scoped variable has a default)
        var.set(self._value)
        _ENTERED.set((*_ENTERED.get(), (self, var, before)))

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        entered = _ENTERED.get()
        for i in range(len(entered) - 1, -1, -1):
            if entered[i][0] is self:
                var, before = entered[i][1], entered[i][2]
                rest = [*entered[:i], *entered[i + 1 :]]
                # Scopes may exit out of order (generators closed in the order they
                # were made): while a later scope of the same variable is still open,
                # its value stays, and it is the one that restores `before`.
                for j in range(i, len(rest)):
                    if rest[j][1] is var:
                        rest[j] = (rest[j][0], var, before)
                        break
                else:
                    var.set(before)
                _ENTERED.set(tuple(rest))
                return
        raise RuntimeError(f"{self!r} exited in a context where it was not entered")

    async def __aenter__(self) -> None:
        self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def __call__(self, fn: F) -> F:
        """Use as a decorator: every call (or every step of a generator) runs in the scope.

        Each call enters a fresh scope object, so concurrent calls never share tokens.
        """
        var, value = self._var, self._value
        if inspect.isasyncgenfunction(fn):

            @functools.wraps(fn)
            async def agen_wrapper(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
                # itself an async generator function, so inspect and frameworks see one
                inner = scoped_agen(fn(*args, **kwargs), lambda: _Scope(var, value))
                send: Any = None
                throw: BaseException | None = None
                while True:
                    try:
                        item = await (inner.asend(send) if throw is None else inner.athrow(throw))
                    except StopAsyncIteration:
                        return
                    send, throw = None, None
                    try:
                        send = yield item
                    except GeneratorExit:
                        await inner.aclose()
                        raise
                    except BaseException as exc:
                        throw = exc

            return agen_wrapper  # type: ignore[return-value]
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with _Scope(var, value):
                    return await fn(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]
        if inspect.isgeneratorfunction(fn):

            @functools.wraps(fn)
            def gen_wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
                # itself a generator function, so inspect and frameworks see one
                return (yield from scoped_gen(fn(*args, **kwargs), lambda: _Scope(var, value)))

            return gen_wrapper  # type: ignore[return-value]
        if not callable(fn):
            raise PolicyError(
                f"a scope decorates a function, got a {type(fn).__name__}; "
                "use it as `with pt.mode(...):` or `@pt.mode(...)`"
            )

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _Scope(var, value):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class mode(_Scope[Mode | None]):
    """``with pt.mode("monitor"):`` / ``@pt.mode("enforce")`` -- the mode within the scope.

    The most specific source of a mode; only ``PURPOSETAG_MODE=off`` overrides it.
    """

    __slots__ = ()

    def __init__(self, value: Mode) -> None:
        super().__init__(SCOPE_MODE, validate_mode(value, "pt.mode(...)"))

    def __repr__(self) -> str:
        return f"pt.mode({self._value!r})"


class processing(_Scope[str | None]):
    """``with pt.processing("marketing.email"):`` -- the use guards without their own check.

    ``@pt.guard()`` with no use checks its arguments against the innermost scope.
    """

    __slots__ = ()

    def __init__(self, use: str) -> None:
        super().__init__(SCOPE_USE, validate_purpose(use, " in pt.processing(...)"))

    def __repr__(self) -> str:
        return f"pt.processing({self._value!r})"


def scoped_gen(
    gen: Generator[Any, Any, Any],
    scope: Callable[[], Any],
    item: Callable[[Any], Any] | None = None,
) -> Generator[Any, Any, Any]:
    """Drive `gen`, running each of its steps inside ``scope()`` and mapping items by `item`.

    Sends, throws and close reach `gen` as if the caller held it directly; the
    scope is never left set while the consumer runs.
    """
    send: Any = None
    throw: BaseException | None = None
    while True:
        try:
            with scope():
                value = gen.send(send) if throw is None else gen.throw(throw)
        except StopIteration as stop:
            return stop.value
        send, throw = None, None
        try:
            send = yield (item(value) if item is not None else value)
        except GeneratorExit:
            with scope():
                gen.close()
            raise
        except BaseException as exc:
            throw = exc


async def scoped_agen(
    agen: AsyncGenerator[Any, Any],
    scope: Callable[[], Any],
    item: Callable[[Any], Any] | None = None,
) -> AsyncGenerator[Any, Any]:
    """The async twin of `scoped_gen`."""
    send: Any = None
    throw: BaseException | None = None
    while True:
        try:
            with scope():
                if throw is None:
                    value = await agen.asend(send)
                else:
                    value = await agen.athrow(throw)
        except StopAsyncIteration:
            return
        send, throw = None, None
        try:
            send = yield (item(value) if item is not None else value)
        except GeneratorExit:
            with scope():
                await agen.aclose()
            raise
        except BaseException as exc:
            throw = exc
