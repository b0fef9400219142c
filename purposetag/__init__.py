"""purposetag: runtime purpose limitation for personal data.

Tag data with the purposes it was collected for; the tags travel with it; guarded
functions refuse (or log) data whose purposes do not allow their use.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ._api import allows, declassify, is_tagged, ranges, tag, tags, untag
from ._errors import PolicyError, PurposeTagError, PurposeViolation
from ._policy import Policy, load_policy
from ._proxy import TaggedValue
from ._settings import configure
from ._tags import Tag
from ._tainted import TaintedBytes, TaintedStr

try:
    __version__ = version("purposetag")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "Policy",
    "PolicyError",
    "PurposeTagError",
    "PurposeViolation",
    "Tag",
    "TaggedValue",
    "TaintedBytes",
    "TaintedStr",
    "__version__",
    "allows",
    "configure",
    "declassify",
    "is_tagged",
    "load_policy",
    "ranges",
    "tag",
    "tags",
    "untag",
]
