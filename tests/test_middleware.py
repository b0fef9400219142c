from __future__ import annotations

import asyncio
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

import purposetag as pt
from purposetag.middleware import ASGIMiddleware, WSGIMiddleware

PHONE = "+1 555 0100"


@pt.guard("marketing.advertising")
def upload(contact: str) -> None:
    pass


def _phone() -> str:
    return pt.tag(PHONE, "security.authentication", category="user.contact.phone_number")


def test_wsgi_runs_each_request_in_its_mode_and_binds_the_request() -> None:
    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        upload(_phone())  # monitor: logged, not raised
        seen.update(structlog.contextvars.get_contextvars())
        start_response("200 OK", [])
        return [b"ok"]

    wrapped = WSGIMiddleware(app, mode="monitor")
    with capture_logs() as logs:
        body = wrapped(
            {"REQUEST_METHOD": "POST", "PATH_INFO": "/audience", "HTTP_X_REQUEST_ID": "r-1"},
            lambda status, headers: None,
        )
        assert list(body) == [b"ok"]
    [event] = [e for e in logs if e["event"] == "purpose_violation"]
    assert event["action"] == "logged"
    assert event["http_path"] == "/audience"
    assert event["request_id"] == "r-1"
    assert seen["http_method"] == "POST"
    # nothing leaks out of the request's context
    assert structlog.contextvars.get_contextvars() == {}
    with pytest.raises(pt.PurposeViolation):
        upload(_phone())


def test_wsgi_streamed_body_is_produced_inside_the_scope() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [])

        def body() -> Any:
            upload(_phone())
            yield b"late"

        return body()

    wrapped = WSGIMiddleware(app, mode="monitor")
    with capture_logs() as logs:
        assert list(wrapped({"PATH_INFO": "/s"}, lambda *a: None)) == [b"late"]
    assert [e["event"] for e in logs if e["event"] == "purpose_violation"] == ["purpose_violation"]


def test_asgi_http_scope_gets_the_processing_use() -> None:
    @pt.guard()
    def use_ambient(value: str) -> None:
        pass

    async def app(scope: Any, receive: Any, send: Any) -> None:
        use_ambient(_phone())

    wrapped = ASGIMiddleware(app, use="marketing.email")

    async def main() -> None:
        await wrapped(
            {"type": "http", "method": "GET", "path": "/x", "headers": [(b"x-request-id", b"q")]},
            None,  # type: ignore[arg-type]
            None,  # type: ignore[arg-type]
        )

    with pytest.raises(pt.PurposeViolation) as exc:
        asyncio.run(main())
    assert exc.value.use == "marketing.email"


def test_asgi_non_http_scopes_pass_through_untouched() -> None:
    calls: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        calls.append(scope["type"])
        assert structlog.contextvars.get_contextvars() == {}

    asyncio.run(ASGIMiddleware(app, mode="off")({"type": "lifespan"}, None, None))  # type: ignore[arg-type]
    assert calls == ["lifespan"]


def test_bad_middleware_arguments_are_refused_when_written() -> None:
    with pytest.raises(pt.PolicyError, match="loud"):
        WSGIMiddleware(lambda e, s: [], mode="loud")
    with pytest.raises(pt.PolicyError, match="Marketing"):
        ASGIMiddleware(lambda s, r, w: None, use="Marketing")  # type: ignore[arg-type,return-value]


def test_asgi_requests_in_one_task_do_not_share_what_the_app_binds() -> None:
    seen: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(dict(structlog.contextvars.get_contextvars()))
        if scope["path"] == "/login":
            structlog.contextvars.bind_contextvars(user_id="u-1")

    wrapped = ASGIMiddleware(app, mode="monitor")

    def request(path: str, rid: bytes) -> dict[str, Any]:
        return {"type": "http", "method": "GET", "path": path, "headers": [(b"x-request-id", rid)]}

    async def main() -> None:  # one task, several requests (a keep-alive connection)
        structlog.contextvars.bind_contextvars(server="s1")
        await wrapped(request("/login", b"r1"), None, None)  # type: ignore[arg-type]
        await wrapped(request("/anon", b""), None, None)  # type: ignore[arg-type]
        assert structlog.contextvars.get_contextvars() == {"server": "s1"}

    try:
        asyncio.run(main())
    finally:
        structlog.contextvars.clear_contextvars()
    assert seen[0]["request_id"] == "r1" and seen[0]["server"] == "s1"
    assert "user_id" not in seen[1] and "request_id" not in seen[1]  # empty id: not bound
