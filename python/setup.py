"""setup.py — builds bud._bud for `pip install --no-build-isolation .` (run from python/):
the extension's own files plus every library source (../src/*/*.c) compiled in, so no prior
`make` is needed. The Makefile (make python) is the primary, faster build."""
import glob
import os

import numpy
from setuptools import Extension, setup

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)


def rel(paths):
    return sorted(os.path.relpath(p, here) for p in paths)


sources = rel(glob.glob(os.path.join(here, "bud", "_bud*.c")) +
              glob.glob(os.path.join(root, "src", "*", "*.c")))
ext = Extension(
    "bud._bud",
    sources=sources,
    include_dirs=[os.path.join(root, "include"), os.path.join(root, "src"), numpy.get_include()],
    extra_compile_args=["-std=c11", "-O2", "-pthread", "-fno-strict-aliasing",
                        "-fvisibility=hidden", "-Wno-unused-parameter"],
    extra_link_args=["-pthread"],
    libraries=["m", "dl"],
)
setup(ext_modules=[ext])
