"""Functions whose whole result carries the union of their arguments' tags.

``base64``, ``binascii``, ``urllib.parse``, ``html`` and ``textwrap``: each output
character depends on input in ways not worth mapping precisely (an encoded email
is as personal as the email), so the result -- every string in it, for the ones
returning lists, tuples or dicts -- carries every tag of every argument.
"""

from __future__ import annotations

import base64
import binascii
import html
import textwrap
import urllib.parse

from ._patching import patch, tagging_wrapper

_FUNCTIONS: dict[object, tuple[str, ...]] = {
    # b64encode/b64decode and their standard_/urlsafe_ forms are not patched: they
    # call binascii.b2a_base64/a2b_base64 (patched below) and bytes.translate (a
    # TaintedBytes method), which carry the tags without a second wrapper.
    base64: (
        "b32encode",
        "b32decode",
        "b32hexencode",
        "b32hexdecode",
        "b16encode",
        "b16decode",
        "b85encode",
        "b85decode",
        "a85encode",
        "a85decode",
        "encodebytes",
        "decodebytes",
    ),
    binascii: ("hexlify", "unhexlify", "b2a_hex", "a2b_hex", "b2a_base64", "a2b_base64"),
    urllib.parse: (
        "quote",
        "quote_plus",
        "quote_from_bytes",
        "unquote",
        "unquote_plus",
        "unquote_to_bytes",
        "urlencode",
        "parse_qs",
        "parse_qsl",
        "urlsplit",
        "urlunsplit",
        "urlparse",
        "urlunparse",
        "urljoin",
        "urldefrag",
    ),
    html: ("escape", "unescape"),
    textwrap: ("wrap", "fill", "shorten", "dedent", "indent"),
}


def apply() -> None:
    for module, names in _FUNCTIONS.items():
        modname = getattr(module, "__name__", "?")
        for name in names:
            fn = getattr(module, name, None)
            if fn is not None:
                patch(module, name, tagging_wrapper(fn, f"{modname}.{name}"))
