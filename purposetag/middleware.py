"""WSGI and ASGI middleware: a purposetag scope and log context per request.

Each request runs inside ``pt.mode(mode)`` and ``pt.processing(use)`` when those
are given, with ``http_method`` and ``http_path`` (and the request id header, if
any) bound in ``structlog.contextvars`` so every purposetag event logged while
handling it names the request.  No framework is imported: plain WSGI callables
and pure ASGI apps only; non-HTTP ASGI scopes pass straight through.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from contextlib import ExitStack
from typing import Any

import structlog

from ._settings import validate_mode
from .typing import Mode

__all__ = ["ASGIMiddleware", "WSGIMiddleware"]

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Scope = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]
]
_REQUEST_ID = "x-request-id"


def _scope(mode: Mode | None, use: str | None, fields: dict[str, Any]) -> ExitStack:
    import purposetag as pt

    stack = ExitStack()
    stack.enter_context(structlog.contextvars.bound_contextvars(**fields))
    if mode is not None:
        stack.enter_context(pt.mode(mode))
    if use is not None:
        stack.enter_context(pt.processing(use))
    return stack


def _check(mode: Mode | None, use: str | None) -> None:
    if mode is not None:
        validate_mode(mode, "middleware mode=")
    if use is not None:
        from ._purposes import validate_purpose

        validate_purpose(use, " (middleware use=)")


class WSGIMiddleware:
    """Wrap a WSGI app: ``app = WSGIMiddleware(app, mode="monitor")``."""

    __slots__ = ("app", "mode", "use")

    def __init__(self, app: WSGIApp, *, mode: Mode | None = None, use: str | None = None) -> None:
        _check(mode, use)
        self.app = app
        self.mode = mode
        self.use = use

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        fields: dict[str, Any] = {
            "http_method": environ.get("REQUEST_METHOD", ""),
            "http_path": environ.get("PATH_INFO", ""),
        }
        rid = environ.get("HTTP_X_REQUEST_ID")
        if rid:
            fields["request_id"] = rid
        # The request runs in a private copy of the context, so the scope needs no
        # reset and also covers a streamed body produced after we return.
        ctx = contextvars.copy_context()
        ctx.run(_scope, self.mode, self.use, fields)
        result = ctx.run(self.app, environ, start_response)
        return _InContext(result, ctx)


class _InContext:
    """A WSGI body iterated (and closed) inside the request's context."""

    __slots__ = ("_ctx", "_it", "_result")

    def __init__(self, result: Iterable[bytes], ctx: contextvars.Context) -> None:
        self._result = result
        self._ctx = ctx
        self._it: Iterator[bytes] | None = None

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self._it is None:
            self._it = self._ctx.run(iter, self._result)
        return self._ctx.run(next, self._it)

    def close(self) -> None:
        close = getattr(self._result, "close", None)
        if close is not None:
            self._ctx.run(close)


class ASGIMiddleware:
    """Wrap a pure ASGI app: ``app = ASGIMiddleware(app, mode="monitor")``."""

    __slots__ = ("app", "mode", "use")

    def __init__(self, app: ASGIApp, *, mode: Mode | None = None, use: str | None = None) -> None:
        _check(mode, use)
        self.app = app
        self.mode = mode
        self.use = use

    async def __call__(
        self,
        scope: Scope,
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        fields: dict[str, Any] = {
            "http_method": scope.get("method", ""),
            "http_path": scope.get("path", ""),
        }
        for name, value in scope.get("headers") or ():
            if bytes(name).lower() == _REQUEST_ID.encode() and value:
                fields["request_id"] = bytes(value).decode("latin-1")
        # what the app binds in structlog's context ends with the request, as it does
        # under WSGI (a private context there); a server may run several in one task
        before = structlog.contextvars.get_contextvars()
        try:
            with _scope(self.mode, self.use, fields):
                await self.app(scope, receive, send)
        finally:
            structlog.contextvars.clear_contextvars()
            if before:
                structlog.contextvars.bind_contextvars(**before)
