"""The same results on every instruction-set path (BUD_ISA=vm, sse2, avx2, avx512 where the CPU
has it): each runs in a subprocess that compares a set of expressions with NumPy bit for bit."""
import os
import subprocess
import sys

import pytest

from conftest import np  # noqa: F401  (skips the module without NumPy)

import bud

SCRIPT = r'''
import warnings
import numpy as np
import bud
rng = np.random.default_rng(5)
ok = True
for dt in ["int8", "int32", "uint16", "int64", "float32", "float64"]:
    a = (rng.standard_normal(1003) * 50).astype(dt)
    b = (rng.standard_normal(1003) * 50).astype(dt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = {"2*a + 3*b": 2 * a + 3 * b, "a*b - a": a * b - a,
                 "where(a > b, a, b)": np.where(a > b, a, b),
                 "maximum(a, b) * 2": np.maximum(a, b) * 2}
        for ex, want in cases.items():
            got = bud.evaluate(ex)
            if got.dtype != want.dtype or got.tobytes() != want.tobytes():
                print("MISMATCH", dt, ex)
                ok = False
raise SystemExit(0 if ok else 1)
'''

NEEDS = {"vm": [], "sse2": ["sse2"], "avx2": ["avx2", "fma"], "avx512": ["avx512f", "avx512bw"]}


@pytest.mark.parametrize("isa", list(NEEDS))
def test_every_isa_agrees_with_numpy(isa):
    feats = bud.cpu_info()["features"].split()
    if any(f not in feats for f in NEEDS[isa]):
        pytest.skip("this CPU has no %s" % isa)
    env = dict(os.environ, BUD_ISA=isa)
    env["PYTHONPATH"] = os.pathsep.join(p for p in [os.path.dirname(os.path.dirname(bud.__file__)),
                                                   env.get("PYTHONPATH", "")] if p)
    r = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
