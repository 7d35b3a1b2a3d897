"""bud.explain, bud.stats, bud.cpu_info, version."""
import threading

from conftest import np

import bud


def test_explain_names_the_stages():
    a = np.arange(8.0)
    b = np.arange(8.0)
    text = bud.explain("2*a + 3*b", a=a, b=b)
    assert isinstance(text, str) and len(text) > 50
    assert "multiply" in text or "add" in text
    # missing arrays come from the caller's frame
    assert bud.explain("a * b", a=a) == bud.explain("a * b", a=a, b=b)


def test_stats_count_compiles_and_runs():
    s0 = bud.stats()
    for k in ("compiles", "runs", "kernels_jit", "kernels_vm", "jit_fallbacks", "cache_hits",
              "cache_misses", "compile_ns", "code_bytes"):
        assert isinstance(s0[k], int)
    f = bud.compile("a - 7.5")
    a = np.arange(4.0)
    for _ in range(5):
        f(a)
    s1 = bud.stats()
    assert s1["compiles"] - s0["compiles"] == 1
    assert s1["runs"] - s0["runs"] == 5


def test_stats_are_per_thread():
    seen = {}

    def work():
        seen["before"] = bud.stats()["runs"]
        bud.evaluate("x + 1", {"x": np.ones(3)})
        seen["after"] = bud.stats()["runs"]

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert seen == {"before": 0, "after": 1}


def test_cpu_info():
    info = bud.cpu_info()
    assert info["vendor"]
    assert info["best_isa"] in ("vm", "sse2", "avx2", "avx512")
    assert "sse2" in info["features"]
    assert info["cache_line"] in (0, 32, 64, 128)


def test_version():
    assert bud.__version__.count(".") == 2
