"""varinit.keras on the numpy, jax and torch backends of Keras 3.

Keras fixes its backend when it is imported, so every backend runs in its own
process: ``keras_worker.py`` (all cases, one process per backend, the three
started together) writes a JSON report of what it measured, and each test
below asserts on one case of one backend's report.  A worker that fails,
hangs past TIMEOUT or reports a case's traceback fails the tests concerned.
"""
from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

os.environ.setdefault("KERAS_BACKEND", "numpy")   # as test_keras_parity: keras needs a backend
pytest.importorskip("keras")

WORKER = Path(__file__).with_name("keras_worker.py")
BACKENDS = ("numpy", "jax", "torch")
TIMEOUT = 240  # seconds, for all three workers together
#: LecunNormal of a (32, 8, 64) query kernel with Keras's fan axes: fan_in 32.
EXPECTED_STD = math.sqrt(1 / 32)          # 0.177; without the axes it would be 0.0625
STD_TOLERANCE = 0.04                      # relative; sampling error of the std is ~0.5 %


def _available(backend: str) -> bool:
    return backend == "numpy" or importlib.util.find_spec(backend) is not None


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict:
    """backend -> report (or the worker's failure, as a string)."""
    tmp = tmp_path_factory.mktemp("keras")
    procs = {}
    for backend in BACKENDS:
        if not _available(backend):
            continue
        env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu",
               "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "3"}
        out = tmp / f"{backend}.json"
        procs[backend] = (subprocess.Popen(
            [sys.executable, str(WORKER), str(out), str(tmp)], env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True), out)
    deadline = time.monotonic() + TIMEOUT
    results = {}
    for backend, (proc, out) in procs.items():
        try:
            _, stderr = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            _, stderr = proc.communicate()
            results[backend] = f"worker timed out after {TIMEOUT} s:\n{stderr[-4000:]}"
            continue
        if proc.returncode != 0 or not out.exists():
            results[backend] = f"worker exited with {proc.returncode}:\n{stderr[-4000:]}"
            continue
        results[backend] = json.loads(out.read_text())
    return results


def _case(reports: dict, backend: str, name: str) -> dict:
    if not _available(backend):
        pytest.skip(f"{backend} is not installed")
    report = reports[backend]
    if isinstance(report, str):
        pytest.fail(report)
    assert report["backend"] == backend
    result = report["cases"][name]
    if "error" in result:
        pytest.fail(f"{name} on {backend}:\n{result['error']}")
    return result


backends = pytest.mark.parametrize("backend", BACKENDS)


@backends
def test_values_equal_varinit_and_are_backend_tensors(reports, backend):
    result = _case(reports, backend, "values")
    rows = result["rows"]
    assert len(rows) >= 40
    tensor_types = {"numpy": "numpy.ndarray", "torch": "torch.Tensor"}
    for row in rows:
        label = f"{row['name']}({row['kwargs']}) {row['dtype']}"
        assert row["equal"], f"values differ from varinit's: {label}"
        assert row["is_tensor"], label
        assert row["result_dtype"] == row["dtype"], label
        if backend in tensor_types:
            assert row["type"] == tensor_types[backend], label
        else:
            assert row["type"].startswith("jax"), label
    assert result["default_dtype"] == result["floatx"]
    assert {row["dtype"] for row in rows} >= {"float32", "float16", "bfloat16"}


@backends
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc and ru_maxrss")
def test_backend_tensor_is_not_a_copy(reports, backend):
    result = _case(reports, backend, "zero_copy")
    assert result["head_equal"]
    assert 0.5 < result["peak_increase_over_tensor"] < 1.5, result


@backends
def test_training_from_varinit_weights(reports, backend):
    result = _case(reports, backend, "training")
    if "skipped" in result:
        pytest.skip(result["skipped"])
    assert result == {"same_losses": True, "same_weights": True, "weights_moved": True}


@backends
def test_layer_weights_equal_varinit(reports, backend):
    result = _case(reports, backend, "layer_weights_equal_varinit")
    assert result.pop("torch_layout_differs_from_keras_layout")
    assert result and all(result.values()), result


@backends
@pytest.mark.parametrize("trip", ["save_load", "clone_model", "json_round_trip", "from_config"])
def test_round_trips_keep_varinit_classes_and_values(reports, backend, trip):
    result = _case(reports, backend, trip)
    original, after = result["original"], result["initializers"]
    # Every initializer the model was given is a varinit.keras one (the plain
    # varinit ones were converted); the round trip brings back the same class
    # and config for every one of them ...
    named = {key: value for key, value in original.items()
             if not (key.endswith(".bias_initializer") and value["class"] == "Zeros"
                     and value["module"].startswith("keras."))}
    assert len(named) >= 19
    assert all(v["module"] == "varinit.keras" for v in named.values()), named
    assert after == original
    assert original["dense_torch.kernel_initializer"]["config"]["layout"] == "torch"
    assert original["plain_torch.kernel_initializer"]["config"]["layout"] == "torch"
    # ... and re-initialising gives the original weights bit for bit.
    assert result["weights"]["same_paths"]
    assert result["weights"]["different"] == []
    if trip == "save_load":
        assert result["loaded_initializers"] == original
        assert result["loaded_weights"] == {"same_paths": True, "different": []}


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= STD_TOLERANCE * b


@backends
def test_multi_head_attention_fans(reports, backend):
    result = _case(reports, backend, "multi_head_attention")
    keras_own = result["keras"]
    assert keras_own["query_shape"] == [32, 8, 64]
    assert _close(keras_own["query_std"], EXPECTED_STD)         # the reference is what we think
    for kind in ("varinit_keras", "varinit_plain"):
        got = result[kind]
        assert got["query_class"] == "varinit.keras.LecunNormal"
        assert _close(got["query_std"], keras_own["query_std"]), (kind, got, keras_own)
        assert _close(got["query_std"], EXPECTED_STD), (kind, got)
        assert _close(got["key_std"], keras_own["key_std"])
        assert _close(got["output_std"], keras_own["output_std"])   # fan_in 8 * 64
        assert _close(got["output_std"], math.sqrt(1 / 512))
        assert got["query_equals_varinit_with_layer_axes"]


@backends
def test_einsum_dense_fans(reports, backend):
    result = _case(reports, backend, "einsum_dense")
    keras_own = result["keras"]
    assert keras_own["shape"] == [32, 8, 64] and _close(keras_own["std"], EXPECTED_STD)
    for kind in ("varinit_keras", "varinit_plain", "varinit_torch_layout"):
        got = result[kind]
        assert _close(got["std"], keras_own["std"]) and _close(got["std"], EXPECTED_STD), kind
        assert got["equals_varinit_with_layer_axes"], kind


@backends
def test_keras_get_of_varinit_names(reports, backend):
    result = _case(reports, backend, "keras_get")
    assert result["varinit>GlorotUniform"] == "varinit.keras.GlorotUniform"
    assert result["varinit>glorot_uniform"] == "varinit.keras.GlorotUniform"
    assert result["varinit>normal"] == "varinit.keras.RandomNormal"
    assert result["varinit>Orthogonal"] == "varinit.keras.Orthogonal"
    assert result["varinit>IdentityInitializer"] == "varinit.keras.Identity"
    assert result["dict"] == {"class": "varinit.keras.HeNormal",
                              "config": {"seed": 3, "input_axes": None, "output_axes": None}}
    assert result["keras_name_stays_keras"].startswith("keras.")
    assert result["vk_get"] == "varinit.keras.HeNormal"
    assert result["plain_instance"] == result["plain_class"] == "varinit.keras"


@backends
def test_plain_varinit_initializers_are_converted(reports, backend):
    result = _case(reports, backend, "plain_initializers")
    assert result["class"] == "varinit.keras.RandomNormal"
    assert result["equal"]
    assert result["generator_advanced"] == 1         # the user's generator, not a copy
    assert result["serialized_registered_name"] == "varinit>GlorotUniform"
    assert result["deserialized_class"] == "varinit.keras.GlorotUniform"
    assert result["deserialized_config"] == {"seed": 3, "input_axes": None, "output_axes": None}


@backends
def test_keras_seed_generator_seeds(reports, backend):
    result = _case(reports, backend, "keras_seed_generator")
    assert result == {"seed_class": "varinit._seeds.SeedGenerator", "calls_differ": True,
                      "equal": True}


@backends
def test_docstring_examples(reports, backend):
    result = _case(reports, backend, "docstrings")
    assert result["attempted"] >= 5 and result["failed"] == 0


def test_import_error_names_pip_install():
    """Without keras importable, varinit.keras says how to get it."""
    code = ("import sys; sys.modules['keras'] = None\n"
            "try:\n    import varinit.keras\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "varinit.keras needs Keras 3: pip install keras" in out.stdout, out


def test_import_varinit_does_not_import_keras():
    code = "import sys, varinit; print('keras' in sys.modules, 'varinit.keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["False", "False"], out
