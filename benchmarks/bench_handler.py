"""A realistic request handler, instrumented and guarded, against the same handler without
purposetag (DESIGN §6 ``handler_clean`` / ``handler_tagged``).

The handler source is written once and imported twice from two throw-away packages:
``ptbench_handler_plain`` first (no hook, no patches, identity decorators: its
``from json import loads`` binds the real function), then ``ptbench_handler_inst``
after ``pt.instrument()`` with ``pt.guard`` active.  structlog is set up as in a
typical production service (level, ISO timestamp, JSON lines written to a file:
here ``os.devnull``), the same for both.
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import structlog
from _timing import interleaved, result

import purposetag as pt

HANDLER = """
from json import loads

import structlog

from . import GUARD

guard = GUARD or (lambda use: (lambda f: f))
log = structlog.get_logger("bench.handler")


@guard("essential.service.authentication.two_factor")
def send_code(phone, code):
    return len(phone) + len(code)


@guard("essential.service.notifications.email")
def send_email(to, subject, body):
    return len(to) + len(subject) + len(body)


@guard("analytics.reporting")
def record(event, props):
    return len(event) + len(props)


def handle(body):
    req = loads(body)
    user = req["user"]
    name = f"{user['first']} {user['last']}"
    subject = "Welcome, {}!".format(user["first"])
    text = "\\n".join([f"Hello {name},", "your code is %s (valid %d min)" % (req["code"], 10), "Bye"])
    send_code(user["phone"], req["code"])
    send_email(user["email"], subject, text)
    record("signup", {"plan": req["plan"], "country": user["country"]})
    log.info("signup", user_id=user["id"], plan=req["plan"])
    return {"ok": True, "id": user["id"], "greeting": subject}
"""

BODY = (
    '{"user": {"id": 42, "first": "Ada", "last": "Lovelace", "email": "ada@example.com",'
    ' "phone": "+44 20 7946 0000", "country": "GB"}, "code": "318204", "plan": "pro"}'
)
PURPOSES = ("essential.service", "analytics")


def _package(root: Path, name: str, init: str) -> Any:
    pkg = root / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text(init)
    (pkg / "handler.py").write_text(HANDLER)
    importlib.invalidate_caches()
    return importlib.import_module(f"{name}.handler")


def run() -> list[dict[str, Any]]:
    old = structlog.get_config()
    # A typical production set-up: level, ISO timestamp, JSON lines to a file.
    sink = open(os.devnull, "w")  # noqa: SIM115 - closed below
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.PrintLoggerFactory(sink),
        cache_logger_on_first_use=True,
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        sys.path.insert(0, str(root))
        try:
            plain = _package(root, "ptbench_handler_plain", "GUARD = None\n")
            pt.instrument("ptbench_handler_inst")
            inst = _package(
                root, "ptbench_handler_inst", "import purposetag as pt\n\nGUARD = pt.guard\n"
            )
            tagged = pt.tag(BODY, *PURPOSES, category="user.contact", source="signup")
            with pt.mode("enforce"):
                expected = plain.handle(BODY)
                assert inst.handle(BODY) == expected
                out = inst.handle(tagged)
                assert out == expected and pt.is_tagged(out["greeting"])
                s, b = interleaved(
                    lambda: inst.handle(BODY), lambda: plain.handle(BODY), number=2000, rounds=15
                )
                rows.append(result("handler_clean", s, b, 1.05))
                s, b = interleaved(
                    lambda: inst.handle(tagged), lambda: plain.handle(BODY), number=2000, rounds=15
                )
                rows.append(result("handler_tagged", s, b, 1.15))
        finally:
            pt.uninstrument()
            sys.path.remove(str(root))
            for mod in [m for m in sys.modules if m.startswith("ptbench_handler_")]:
                del sys.modules[mod]
            structlog.configure(**old)
            sink.close()
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
