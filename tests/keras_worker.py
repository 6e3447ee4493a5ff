"""Worker of tests/test_keras.py: every varinit.keras case on one Keras backend.

    KERAS_BACKEND=jax python tests/keras_worker.py REPORT.json TMPDIR

Keras fixes its backend at import, so test_keras.py runs this script once
per backend (numpy, jax, torch).  It measures and records facts (classes,
configs, bit equalities, standard deviations) in a JSON report; the
assertions are in test_keras.py.  A case that raises is recorded with its
traceback instead of its facts, so one failure does not hide the others.
"""
from __future__ import annotations

import doctest
import json
import os
import sys
import traceback
from pathlib import Path

import numpy as np

import keras
import varinit
import varinit.keras as vk

BACKEND = keras.backend.backend()
REPORT: dict = {"backend": BACKEND, "cases": {}}
FLOAT64 = BACKEND != "jax" or bool(__import__("jax").config.jax_enable_x64)


CASES = []


def case(fn):
    CASES.append(fn)
    return fn


def run_cases() -> None:
    for fn in CASES:
        try:
            REPORT["cases"][fn.__name__] = fn()
        except Exception:  # noqa: BLE001 - reported to the test
            REPORT["cases"][fn.__name__] = {"error": traceback.format_exc()}


def to_numpy(x) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(x))


def same_bits(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind == "b":
        return bool(np.array_equal(a, b))
    return bool(np.array_equal(a.view(f"u{a.dtype.itemsize}"), b.view(f"u{b.dtype.itemsize}")))


# ---------------------------------------------------------------------------
# The model every round trip uses: every class, seeded, torch layout included
# ---------------------------------------------------------------------------

def initializers() -> dict:
    """name -> varinit.keras initializer (fresh objects on every call)."""
    return {
        "embeddings": vk.TruncatedNormal(stddev=0.02, seed=1),
        "dense1_kernel": vk.GlorotUniform(seed=2),
        "dense1_bias": vk.Constant(0.1),
        "dense_torch_kernel": vk.VarianceScaling(2.0, "fan_in", "uniform", seed=3, layout="torch"),
        "dense_torch_bias": vk.Ones(),
        "mha_kernel": vk.LecunNormal(seed=4),
        "mha_bias": vk.Zeros(),
        "einsum_kernel": vk.HeNormal(seed=5),
        "einsum_bias": vk.RandomUniform(-0.2, 0.3, seed=6),
        "orth_kernel": vk.Orthogonal(gain=1.5, seed=7),
        "identity_kernel": vk.Identity(gain=2.0),
        "normal_kernel": vk.RandomNormal(0.1, 0.2, seed=8),
        "he_uniform_kernel": vk.HeUniform(seed=9),
        "lecun_uniform_kernel": vk.LecunUniform(seed=10),
        "glorot_normal_kernel": vk.GlorotNormal(seed=11),
        "trunc_bounds_kernel": vk.TruncatedNormal(0.0, 1.0, seed=12, low=-0.5, high=1.5),
        "seedgen_kernel": vk.RandomNormal(stddev=0.3, seed=varinit.SeedGenerator(13)),
        "plain_kernel": varinit.HeUniform(seed=14),                # a plain varinit one
        "plain_torch_kernel": varinit.GlorotNormal(seed=15, layout="torch"),
    }


def build_model() -> keras.Model:
    i = initializers()
    L = keras.layers
    tokens = keras.Input((6,), dtype="int32")
    x = L.Embedding(50, 16, embeddings_initializer=i["embeddings"], name="embed")(tokens)
    x = L.Dense(24, kernel_initializer=i["dense1_kernel"], bias_initializer=i["dense1_bias"],
                name="dense1")(x)
    x = L.Dense(40, kernel_initializer=i["dense_torch_kernel"],
                bias_initializer=i["dense_torch_bias"], name="dense_torch")(x)
    x = L.MultiHeadAttention(4, 8, kernel_initializer=i["mha_kernel"],
                             bias_initializer=i["mha_bias"], name="mha")(x, x)
    x = L.EinsumDense("abc,cde->abde", output_shape=(None, 3, 8), bias_axes="de",
                      kernel_initializer=i["einsum_kernel"], bias_initializer=i["einsum_bias"],
                      name="einsum")(x)
    x = L.Reshape((6, 24))(x)
    for name in ("orth", "identity", "normal", "he_uniform", "lecun_uniform", "glorot_normal",
                 "trunc_bounds", "seedgen", "plain", "plain_torch"):
        x = L.Dense(24, kernel_initializer=i[f"{name}_kernel"], use_bias=False, name=name)(x)
    return keras.Model(tokens, x)


INITIALIZER_ATTRIBUTES = ("kernel_initializer", "bias_initializer", "embeddings_initializer",
                          "_kernel_initializer", "_bias_initializer")


def initializer_facts(model: keras.Model) -> dict:
    """layer/attribute -> (module, class, config) of every initializer."""
    facts = {}
    for layer in model._flatten_layers(include_self=False):
        for attribute in INITIALIZER_ATTRIBUTES:
            init = getattr(layer, attribute, None)
            if init is not None and not isinstance(init, str):
                facts[f"{layer.name}.{attribute}"] = {
                    "module": type(init).__module__, "class": type(init).__name__,
                    "config": json.loads(json.dumps(init.get_config(), default=repr))}
    return facts


def weights(model: keras.Model) -> dict:
    return {w.path: to_numpy(w) for w in model.weights}


def compare_weights(a: dict, b: dict) -> dict:
    return {"same_paths": sorted(a) == sorted(b),
            "different": sorted(p for p in a if p not in b or not same_bits(a[p], b[p]))}


ORIGINAL = {}


def original():
    if not ORIGINAL:
        model = build_model()
        ORIGINAL.update(model=model, weights=weights(model), facts=initializer_facts(model))
    return ORIGINAL


def round_trip(model: keras.Model) -> dict:
    base = original()
    return {"weights": compare_weights(base["weights"], weights(model)),
            "initializers": initializer_facts(model), "original": base["facts"]}


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------

@case
def zero_copy():
    """Peak memory of a 512 MiB tensor: 1x if the backend adopts varinit's
    buffer, 2x if it copies it (Linux: ru_maxrss in KiB)."""
    import resource
    shape = (2**17, 1024)
    nbytes = 2**27 * 4
    rss_before = int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGESIZE")
    x = vk.RandomUniform(seed=1)(shape, "float32")
    if BACKEND == "jax":
        x.block_until_ready()
    peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    head = to_numpy(x[:4])
    del x
    return {"peak_increase_over_tensor": (peak_after - rss_before) / nbytes,
            "head_equal": same_bits(head, varinit.RandomUniform(seed=1).block(
                shape, (slice(0, 4),)))}


@case
def training():
    """A few optimizer steps (jit, donated buffers on jax) from varinit.keras's
    initial weights equal the same steps from a copy of those weights."""
    if BACKEND == "numpy":
        return {"skipped": "the numpy backend cannot train"}
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 32)).astype("float32")
    y = (x[:, :1] * 2.0).astype("float32")

    def model(kernel):
        return keras.Sequential([keras.Input((32,)),
                                 keras.layers.Dense(64, kernel_initializer=kernel,
                                                    activation="relu"),
                                 keras.layers.Dense(1, kernel_initializer=kernel)])

    ours = model(vk.GlorotUniform(seed=3))
    copy = model(keras.initializers.Zeros())
    copy.set_weights([np.array(w, copy=True) for w in ours.get_weights()])
    initial = [np.array(w, copy=True) for w in ours.get_weights()]
    losses = []
    for m in (ours, copy):
        m.compile(optimizer="sgd", loss="mse")
        history = m.fit(x, y, epochs=2, batch_size=32, shuffle=False, verbose=0)
        losses.append(history.history["loss"])
    return {"same_losses": losses[0] == losses[1],
            "same_weights": all(same_bits(a, b) for a, b in zip(ours.get_weights(),
                                                                 copy.get_weights())),
            "weights_moved": not all(same_bits(a, b) for a, b in zip(initial,
                                                                     ours.get_weights()))}


VALUE_CASES = [
    ("Zeros", {}), ("Ones", {}), ("Constant", {"value": 0.7}), ("Identity", {"gain": 3.0}),
    ("RandomNormal", {"mean": 0.5, "stddev": 2.0, "seed": 21}),
    ("RandomUniform", {"minval": -1.0, "maxval": 2.0, "seed": 22}),
    ("TruncatedNormal", {"stddev": 0.02, "seed": 23}),
    ("TruncatedNormal", {"stddev": 1.0, "seed": 24, "low": 0.0}),
    ("VarianceScaling", {"scale": 0.5, "mode": "fan_out", "distribution": "untruncated_normal",
                         "seed": 25}),
    ("VarianceScaling", {"scale": 3.0, "mode": "fan_avg", "distribution": "uniform", "seed": 26,
                         "layout": "torch"}),
    ("GlorotNormal", {"seed": 27}), ("GlorotUniform", {"seed": 28}), ("HeNormal", {"seed": 29}),
    ("HeUniform", {"seed": 30, "input_axes": [0], "output_axes": [1, 2]}),
    ("LecunNormal", {"seed": 31}), ("LecunUniform", {"seed": 32}),
    ("Orthogonal", {"gain": 2.0, "seed": 33}),
]


@case
def values():
    """Each class, called as Keras calls it, against varinit's own numpy array."""
    dtypes = ["float32", "float16", "bfloat16"] + (["float64"] if FLOAT64 else [])
    rows = []
    for name, kwargs in VALUE_CASES:
        shape = (37, 53) if name not in ("HeUniform",) else (7, 5, 9)
        for dtype in dtypes:
            if name == "Orthogonal" and dtype != "float32":
                continue                      # LAPACK: bits only within one call path
            got = getattr(vk, name)(**kwargs)(shape, dtype)
            expected = getattr(varinit, name)(**kwargs)(shape, dtype)
            rows.append({"name": name, "kwargs": repr(kwargs), "dtype": dtype,
                         "is_tensor": bool(keras.ops.is_tensor(got)),
                         "type": f"{type(got).__module__}.{type(got).__name__}",
                         "result_dtype": keras.backend.standardize_dtype(got.dtype),
                         "shape": list(got.shape), "equal": same_bits(to_numpy(got), expected)})
    default = vk.GlorotUniform(seed=1)((4, 5))
    return {"rows": rows, "default_dtype": keras.backend.standardize_dtype(default.dtype),
            "floatx": keras.backend.floatx()}


@case
def layer_weights_equal_varinit():
    """The weights of the model equal varinit's arrays for the same seed and shape."""
    model = original()["model"]
    by_name = {layer.name: layer for layer in model.layers}
    checks = {
        "embed": (by_name["embed"].embeddings, varinit.TruncatedNormal(stddev=0.02, seed=1)),
        "dense1": (by_name["dense1"].kernel, varinit.GlorotUniform(seed=2)),
        "dense_torch": (by_name["dense_torch"].kernel,
                        varinit.VarianceScaling(2.0, "fan_in", "uniform", seed=3,
                                                layout="torch")),
        "plain": (by_name["plain"].kernel, varinit.HeUniform(seed=14)),
        "plain_torch": (by_name["plain_torch"].kernel,
                        varinit.GlorotNormal(seed=15, layout="torch")),
        "seedgen": (by_name["seedgen"].kernel,
                    varinit.RandomNormal(stddev=0.3, seed=varinit.SeedGenerator(13))),
        "orth": (by_name["orth"].kernel, varinit.Orthogonal(gain=1.5, seed=7)),
    }
    out = {}
    for name, (variable, init) in checks.items():
        value = to_numpy(variable)
        out[name] = same_bits(value, init(value.shape, value.dtype))
    # the torch layout really changes the values (the fans differ for (24, 40))
    kernel = to_numpy(by_name["dense_torch"].kernel)
    out["torch_layout_differs_from_keras_layout"] = not same_bits(
        kernel, varinit.VarianceScaling(2.0, "fan_in", "uniform", seed=3)(kernel.shape))
    return out


@case
def save_load():
    model = original()["model"]
    path = Path(sys.argv[2]) / f"model_{BACKEND}.keras"
    model.save(path)
    loaded = keras.models.load_model(path)                 # no custom_objects
    fresh = keras.Model.from_config(loaded.get_config())   # re-initialised from the loaded config
    result = round_trip(fresh)
    result["loaded_initializers"] = initializer_facts(loaded)
    result["loaded_weights"] = compare_weights(original()["weights"], weights(loaded))
    return result


@case
def clone_model():
    return round_trip(keras.models.clone_model(original()["model"]))


@case
def json_round_trip():
    return round_trip(keras.models.model_from_json(original()["model"].to_json()))


@case
def from_config():
    return round_trip(keras.Model.from_config(original()["model"].get_config()))


def kernel_std(layer) -> float:
    return float(np.std(to_numpy(layer.kernel).astype(np.float64)))


@case
def multi_head_attention():
    """Query kernel (32, 8, 64): Keras's fan_in is 32 (std 0.177), not 8*32."""
    out = {}
    kinds = {"varinit_keras": lambda: vk.LecunNormal(seed=41),
             "varinit_plain": lambda: varinit.LecunNormal(seed=41),
             "keras": lambda: keras.initializers.LecunNormal(seed=41)}
    for kind, make in kinds.items():
        layer = keras.layers.MultiHeadAttention(num_heads=8, key_dim=64, kernel_initializer=make())
        query = np.zeros((1, 10, 32), np.float32)
        layer(query, query)
        q = layer._query_dense
        out[kind] = {"query_shape": list(q.kernel.shape), "query_std": kernel_std(q),
                     "key_std": kernel_std(layer._key_dense),
                     "output_shape": list(layer._output_dense.kernel.shape),
                     "output_std": kernel_std(layer._output_dense),
                     "query_class": f"{type(q.kernel_initializer).__module__}."
                                    f"{type(q.kernel_initializer).__name__}"}
        if kind != "keras":
            value = to_numpy(q.kernel)
            expected = varinit.LecunNormal(seed=41, input_axes=[0], output_axes=[1, 2])(
                value.shape, value.dtype)
            out[kind]["query_equals_varinit_with_layer_axes"] = same_bits(value, expected)
    return out


@case
def einsum_dense():
    """Kernel (32, 8, 64) of "ab,bcd->acd": fan_in 32 with the layer's axes."""
    out = {}
    kinds = {"varinit_keras": lambda: vk.LecunNormal(seed=42),
             "varinit_plain": lambda: varinit.LecunNormal(seed=42),
             "keras": lambda: keras.initializers.LecunNormal(seed=42),
             "varinit_torch_layout": lambda: vk.VarianceScaling(
                 1.0, "fan_in", "truncated_normal", seed=42, layout="torch")}
    for kind, make in kinds.items():
        layer = keras.layers.EinsumDense("ab,bcd->acd", output_shape=(8, 64),
                                         kernel_initializer=make())
        layer.build((None, 32))
        out[kind] = {"shape": list(layer.kernel.shape), "std": kernel_std(layer)}
        if kind != "keras":
            value = to_numpy(layer.kernel)
            expected = varinit.LecunNormal(seed=42, input_axes=[0], output_axes=[1, 2])(
                value.shape, value.dtype)
            out[kind]["equals_varinit_with_layer_axes"] = same_bits(value, expected)
    return out


@case
def keras_get():
    out = {}
    for name in ("varinit>GlorotUniform", "varinit>glorot_uniform", "varinit>normal",
                 "varinit>Orthogonal", "varinit>IdentityInitializer"):
        init = keras.initializers.get(name)
        out[name] = f"{type(init).__module__}.{type(init).__name__}"
    init = keras.initializers.get({"class_name": "varinit>HeNormal", "config": {"seed": 3}})
    out["dict"] = {"class": f"{type(init).__module__}.{type(init).__name__}",
                   "config": init.get_config()}
    out["keras_name_stays_keras"] = type(keras.initializers.get("GlorotUniform")).__module__
    out["vk_get"] = type(vk.get("he_normal")).__module__ + "." + type(vk.get("he_normal")).__name__
    out["plain_instance"] = type(keras.initializers.get(varinit.GlorotUniform(seed=1))).__module__
    out["plain_class"] = type(keras.initializers.get(varinit.GlorotUniform)).__module__
    return out


@case
def plain_initializers():
    """A plain varinit initializer given to a layer becomes varinit.keras's, same state."""
    generator = varinit.SeedGenerator(5)
    plain = varinit.RandomNormal(stddev=0.1, seed=generator)
    layer = keras.layers.Dense(7, kernel_initializer=plain)
    layer.build((None, 9))
    expected = varinit.RandomNormal(stddev=0.1, seed=varinit.SeedGenerator(5))((9, 7))
    serialized = keras.saving.serialize_keras_object(varinit.GlorotUniform(seed=3))
    back = keras.saving.deserialize_keras_object(serialized)
    return {"class": f"{type(layer.kernel_initializer).__module__}."
                     f"{type(layer.kernel_initializer).__name__}",
            "equal": same_bits(to_numpy(layer.kernel), expected),
            "generator_advanced": generator.calls,
            "serialized_registered_name": serialized["registered_name"],
            "deserialized_class": f"{type(back).__module__}.{type(back).__name__}",
            "deserialized_config": back.get_config()}


@case
def keras_seed_generator():
    init = vk.RandomNormal(seed=keras.random.SeedGenerator(17))
    first, second = to_numpy(init((5, 6))), to_numpy(init((5, 6)))
    expected = varinit.RandomNormal(seed=varinit.SeedGenerator(17))
    return {"seed_class": f"{type(init.seed).__module__}.{type(init.seed).__name__}",
            "calls_differ": not same_bits(first, second),
            "equal": same_bits(first, expected((5, 6))) and same_bits(second, expected((5, 6)))}


@case
def docstrings():
    result = doctest.testmod(vk, optionflags=doctest.ELLIPSIS, verbose=False)
    return {"attempted": result.attempted, "failed": result.failed}


if __name__ == "__main__":
    run_cases()
    Path(sys.argv[1]).write_text(json.dumps(REPORT, indent=1, default=repr))
    os._exit(0)     # skip backend teardown (jax/torch thread pools): the report is written
