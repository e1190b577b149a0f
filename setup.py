"""Everything but dedupe's C kernels is declared in pyproject.toml.

The kernels (``dedup/_kernels.c``, used by ``dolma.dedup.kernels``) are optional: without a C compiler the install
still succeeds, and dedupe runs its numpy/xxhash code instead (the same results, slower).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("dolma.dedup._kernels", sources=["dedup/_kernels.c"], optional=True)])
