"""Thread settings, the environment variable, fork safety and Ctrl-C."""
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import varinit


def run_python(code, env=None, **kwargs):
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=full_env,
                          capture_output=True, text=True, timeout=120, **kwargs)


def test_set_and_get_num_threads():
    before = varinit.get_num_threads()
    try:
        varinit.set_num_threads(3)
        assert varinit.get_num_threads() == 3
        assert varinit.runtime_info()["threads"] == 3
    finally:
        varinit.set_num_threads(before)


def test_context_manager_is_per_thread_and_restores():
    before = varinit.get_num_threads()
    seen = {}
    with varinit.num_threads(5):
        assert varinit.get_num_threads() == 5
        other = threading.Thread(target=lambda: seen.setdefault("other", varinit.get_num_threads()))
        other.start()
        other.join()
        with varinit.num_threads(1):
            assert varinit.get_num_threads() == 1
        assert varinit.get_num_threads() == 5
    assert varinit.get_num_threads() == before
    assert seen["other"] == before


def test_default_is_the_affinity_mask():
    """The default counts the CPUs the process may use, not the machine's."""
    if not hasattr(os, "sched_setaffinity"):
        pytest.skip("no affinity API on this platform")
    env = {k: v for k, v in os.environ.items() if k != "VARINIT_NUM_THREADS"}
    result = subprocess.run([sys.executable, "-c", "import varinit; print(varinit.get_num_threads())"],
                            env=env, capture_output=True, text=True, timeout=60,
                            preexec_fn=lambda: os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}))
    assert result.stdout.strip() == "1", result.stderr


def test_environment_variable():
    result = run_python("import varinit; print(varinit.get_num_threads())",
                        env={"VARINIT_NUM_THREADS": "3"})
    assert result.stdout.strip() == "3"


@pytest.mark.parametrize("value", ["zero", "0", "-2", "1.5"])
def test_invalid_environment_variable_warns_and_uses_default(value):
    result = run_python("""
        import os, warnings
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import varinit
        print(varinit.get_num_threads(), len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())
        print(caught[0].category.__name__, "VARINIT_NUM_THREADS" in str(caught[0].message))
        """, env={"VARINIT_NUM_THREADS": value})
    lines = result.stdout.split("\n")
    got, default = lines[0].split()
    assert got == default
    assert lines[1] == "RuntimeWarning True"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_pool_survives_fork():
    result = run_python("""
        import os, numpy as np, varinit
        with varinit.num_threads(2):
            a = varinit.fill_uniform(np.empty(1 << 20, np.float32), seed=1)   # starts the pool
            pid = os.fork()
            if pid == 0:
                b = varinit.fill_uniform(np.empty(1 << 20, np.float32), seed=1)
                os._exit(0 if np.array_equal(a, b) else 3)
            _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status))
        """)
    assert result.stdout.strip() == "0", result.stderr


INTERRUPT_CHILD = """
import sys, threading, time, zlib
import numpy as np, varinit

# size the fill to last several seconds on this machine (a slow interval:
# exponential rejection on [1, 2], so the 2**28 cap is never the limit)
probe = np.empty(1 << 20, np.float32)
start = time.perf_counter()
varinit.fill_truncated_normal(probe, low=1.0, high=2.0, seed=0)
rate = probe.size / (time.perf_counter() - start) * varinit.get_num_threads()
n = int(min(max(rate * 4, 1 << 24), 1 << 28))
buf = np.full(n, 7.0, np.float32)
threads_before = threading.active_count()
print("started", n, flush=True)
try:
    varinit.fill_truncated_normal(buf, low=1.0, high=2.0, seed=1)
    print("finished", flush=True)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    first = zlib.crc32(buf)
    time.sleep(0.3)
    stable = zlib.crc32(buf) == first          # no worker is still writing
    written = int(np.count_nonzero(buf != 7.0))
    print(stable, 0 < written < n, flush=True)
"""


def test_sigint_interrupts_a_long_fill():
    proc = subprocess.Popen([sys.executable, "-c", INTERRUPT_CHILD], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, VARINIT_ISA="scalar"))
    try:
        line = proc.stdout.readline()
        assert line.startswith("started"), proc.stderr.read()
        time.sleep(0.5)
        sent = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        line = proc.stdout.readline()
        latency = time.perf_counter() - sent
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert line.strip() == "interrupted", (line, err)
    assert latency < 1.0
    # the buffer stopped changing (every worker joined) and was partly written
    assert out.split() == ["True", "True"], (out, err)
    assert proc.returncode == 0
