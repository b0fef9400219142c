"""Only the optional C accelerator lives here; everything else is in pyproject.toml.

``optional=True``: a machine without a C compiler or Python headers still installs
purposetag, which then runs its pure-Python implementation (same results, slower).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("purposetag._speedups", ["purposetag/_speedups.c"], optional=True),
    ]
)
