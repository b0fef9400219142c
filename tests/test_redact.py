"""pt.redact_tagged: tagged values never reach a rendered log line."""

from __future__ import annotations

import dataclasses
import io
import json
from typing import Any

import structlog
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import purposetag as pt

P = "security.authentication.two_factor"
REDACTED = f"[tagged: {P}]"


def redact(**event: Any) -> dict[str, Any]:
    return dict(pt.redact_tagged(None, "info", event))


def test_top_level_values_and_the_event_itself() -> None:
    phone = pt.tag("555-0101", P)
    out = redact(event=f"{phone}", phone=phone, n=pt.tag(42, P), raw=pt.tag(b"555", P), ok="x")
    assert out == {"event": REDACTED, "phone": REDACTED, "n": REDACTED, "raw": REDACTED, "ok": "x"}


def test_nested_containers_and_keys_without_mutating_the_input() -> None:
    phone = pt.tag("555-0101", P)
    payload = {"user": {"phones": [phone, "home"], phone: 1}, "t": (1, phone), "s": {phone}}
    out = redact(payload=payload)
    assert out["payload"] == {
        "user": {"phones": [REDACTED, "home"], REDACTED: 1},
        "t": (1, REDACTED),
        "s": [REDACTED],
    }
    assert payload["user"]["phones"][0] is phone  # the caller's data is untouched


def test_untouched_containers_are_kept_as_is() -> None:
    clean = {"a": [1, 2]}
    assert redact(clean=clean)["clean"] is clean


def test_objects_holding_tags_are_redacted_whole() -> None:
    @dataclasses.dataclass
    class User:
        name: str
        phone: Any

    out = redact(user=User("ada", pt.tag("555", P)), other=User("bob", "556"))
    assert out["user"] == REDACTED
    assert out["other"] == User("bob", "556")


def test_cycles_and_depth() -> None:
    loop: list[Any] = [pt.tag("555", P)]
    loop.append(loop)
    out = redact(loop=loop)
    assert out["loop"][0] == REDACTED
    deep: Any = pt.tag("555", P)
    for _ in range(50):
        deep = [deep]
    assert "555" not in json.dumps(redact(deep=deep))


def test_custom_placeholder() -> None:
    proc = pt.RedactTagged(placeholder="<{purposes}>")
    assert proc(None, "info", {"x": pt.tag("555", P)}) == {"x": f"<{P}>"}
    assert "RedactTagged" in repr(proc)


def _render(value: str) -> str:
    out = io.StringIO()
    log = structlog.wrap_logger(
        structlog.PrintLogger(out),
        processors=[pt.redact_tagged, structlog.processors.JSONRenderer()],
    )
    tagged = pt.tag(value, P)
    log.info("sending", contact=tagged, batch=[{"to": tagged}], note="ok " + tagged)
    return out.getvalue()


@settings(max_examples=50)
@given(value=st.text(min_size=4, max_size=30))
def test_rendered_json_never_contains_the_value(value: str) -> None:
    benign = _render("@@@@")
    escaped = json.dumps(value)[1:-1]
    assume(value not in benign and escaped not in benign)
    line = _render(value)
    assert value not in line
    assert escaped not in line
