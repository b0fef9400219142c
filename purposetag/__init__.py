"""purposetag: runtime purpose limitation for personal data.

Tag data with the purposes it was collected for; the tags travel with it; guarded
functions refuse (or log) data whose purposes do not allow their use.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from . import _compat
from ._api import allows, declassify, is_tagged, ranges, tag, tags, untag
from ._config import load_config
from ._context import mode, processing
from ._errors import PolicyError, PurposeTagError, PurposeViolation
from ._guard import check, guard, guard_function, source
from ._instrument import instrument, uninstrument
from ._policy import Policy, load_policy
from ._proxy import TaggedValue
from ._redact import RedactTagged, redact_tagged
from ._settings import configure
from ._tags import Tag
from ._tainted import TaintedBytes, TaintedStr

_compat.install()  # pathlib (3.11, 3.12) refused tagged path components

try:
    __version__ = version("purposetag")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "Policy",
    "PolicyError",
    "PurposeTagError",
    "PurposeViolation",
    "RedactTagged",
    "Tag",
    "TaggedValue",
    "TaintedBytes",
    "TaintedStr",
    "__version__",
    "allows",
    "check",
    "configure",
    "declassify",
    "guard",
    "guard_function",
    "instrument",
    "is_tagged",
    "load_config",
    "load_policy",
    "mode",
    "processing",
    "ranges",
    "redact_tagged",
    "source",
    "tag",
    "tags",
    "uninstrument",
    "untag",
]
