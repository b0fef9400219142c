"""Only the optional C accelerator lives here; everything else is in pyproject.toml.

``optional=True``: a machine without a C compiler or Python headers still installs
purposetag, which then runs its pure-Python implementation (same results, slower).
"""

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class BuildExt(build_ext):
    """With GCC or Clang, functions and loops are aligned: the accelerator's hot paths
    are a few dozen nanoseconds, and where the linker happened to place them moved
    some benchmarks by 10-30 % from one unrelated change to the next."""

    def build_extensions(self) -> None:
        if self.compiler.compiler_type == "unix":
            for ext in self.extensions:
                ext.extra_compile_args = [
                    *(ext.extra_compile_args or []),
                    "-falign-functions=64",
                    "-falign-loops=32",
                ]
        super().build_extensions()


setup(
    cmdclass={"build_ext": BuildExt},
    ext_modules=[
        Extension("purposetag._speedups", ["purposetag/_speedups.c"], optional=True),
    ],
)
