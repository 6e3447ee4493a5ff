"""Parity with the real Keras 3 package (numpy backend): fans, configs, names, errors, samples."""
from __future__ import annotations

import os
import random

os.environ["KERAS_BACKEND"] = "numpy"      # before keras is imported: its exact rejection sampler

import numpy as np
import pytest
import scipy.stats as st

keras = pytest.importorskip("keras")
if keras.backend.backend() != "numpy":   # pragma: no cover - keras imported earlier elsewhere
    pytest.skip("keras was already imported with another backend", allow_module_level=True)

from keras import initializers as K  # noqa: E402

try:  # Keras-internal paths (checked against Keras 3.15)
    from keras.src.initializers import ALL_OBJECTS_DICT as KERAS_TABLE
    from keras.src.initializers.random_initializers import compute_fans as keras_compute_fans
except ImportError:  # pragma: no cover
    pytest.skip("this Keras lays out keras.src differently", allow_module_level=True)

import varinit  # noqa: E402
from varinit._config import ALL_OBJECTS_DICT as VARINIT_TABLE  # noqa: E402

# Keras names varinit deliberately lacks (docs/initializers.md).
KERAS_ONLY = {"STFT", "stft", "STFTInitializer"}


# ---- fans -----------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(), (3,), (0,), (4, 5), (5, 7, 3), (3, 3, 16, 32),
                                   (2, 3, 3, 16, 32), (0, 5), (1, 1, 1, 1, 1), (3, 0, 4, 5)])
@pytest.mark.parametrize("axes", [None, ([0], [-1]), ([1], None), ([-1], [0]), ((), [0])])
def test_compute_fans_identical(shape, axes):
    input_axes, output_axes = axes if axes else (None, None)
    if input_axes is not None and output_axes is not None and len(shape) == 0:
        return                                                   # IndexError in both
    expected = keras_compute_fans(shape, input_axes=input_axes, output_axes=output_axes)
    assert varinit.compute_fans(shape, input_axes=input_axes, output_axes=output_axes) == expected


# ---- configs and names ------------------------------------------------------------

CONFIG_PAIRS = [
    ("Zeros", {}), ("Ones", {}), ("Constant", {"value": 2.5}), ("Constant", {"value": 3}),
    ("RandomNormal", {}), ("RandomNormal", {"mean": 1.0, "stddev": 2, "seed": 5}),
    ("RandomUniform", {"minval": -1, "maxval": 3.5, "seed": 1}), ("TruncatedNormal", {"seed": 0}),
    ("VarianceScaling", {}), ("VarianceScaling", {"scale": 2.0, "mode": "fan_avg",
                                                  "distribution": "Normal", "seed": 9}),
    ("VarianceScaling", {"mode": "fan_out", "distribution": "untruncated_normal",
                         "input_axes": [0, 1], "output_axes": [2]}),
    ("GlorotNormal", {"seed": 1}), ("GlorotUniform", {}), ("HeNormal", {"seed": 2}),
    ("HeUniform", {"input_axes": [0], "output_axes": [1]}), ("LecunNormal", {}),
    ("LecunUniform", {"seed": 3}), ("Orthogonal", {"gain": 2.0, "seed": 4}), ("Orthogonal", {}),
    ("Identity", {"gain": 2.0}),
]


@pytest.mark.parametrize("name,kwargs", CONFIG_PAIRS, ids=[p[0] for p in CONFIG_PAIRS])
def test_get_config_identical(name, kwargs):
    keras_config = getattr(K, name)(**kwargs).get_config()
    varinit_config = getattr(varinit, name)(**kwargs).get_config()
    if name == "Identity":
        # Documented difference: Keras 3.15 drops gain (so its clone has gain 1).
        assert keras_config == {} and varinit_config == {"gain": kwargs["gain"]}
        return
    assert varinit_config == keras_config
    assert list(varinit_config) == list(keras_config)


@pytest.mark.parametrize("name,kwargs", CONFIG_PAIRS, ids=[p[0] for p in CONFIG_PAIRS])
def test_configs_load_both_ways(name, kwargs):
    keras_init = getattr(K, name)(**kwargs)
    varinit_init = getattr(varinit, name)(**kwargs)
    from_keras = varinit.deserialize(K.serialize(keras_init))
    from_varinit = K.deserialize(varinit.serialize(varinit_init))
    assert type(from_keras) is type(varinit_init)
    assert type(from_varinit).__name__ == name
    if name != "Identity":
        assert from_keras.get_config() == varinit_init.get_config()
        assert from_varinit.get_config() == keras_init.get_config()
    else:
        assert from_varinit.gain == kwargs["gain"]     # Keras reads varinit's {"gain": g}
        assert from_keras.gain == 1.0                   # and varinit reads Keras's {}


def test_seed_generator_configs_load_both_ways():
    keras_init = K.RandomNormal(seed=keras.random.SeedGenerator(3))
    loaded = varinit.deserialize(K.serialize(keras_init))
    assert isinstance(loaded.seed, varinit.SeedGenerator) and loaded.seed.seed == 3
    back = K.deserialize(varinit.serialize(varinit.RandomNormal(seed=varinit.SeedGenerator(4))))
    assert isinstance(back.seed, keras.random.SeedGenerator)


def test_array_constant_configs_load_both_ways():
    value = np.array([1.0, 2.0], np.float32)
    assert varinit.Constant(value).get_config() == K.Constant(value).get_config()
    loaded = varinit.deserialize(K.serialize(K.Constant(value)))
    np.testing.assert_array_equal(loaded((3, 2)), np.asarray(K.Constant(value)((3, 2))))


def test_get_alias_table_identical():
    keras_table = {k: v.__name__ for k, v in KERAS_TABLE.items() if k not in KERAS_ONLY}
    assert {k: v.__name__ for k, v in VARINIT_TABLE.items()} == keras_table
    for key in keras_table:
        if key in ("constant", "Constant"):   # Keras: KeyError('value'); documented difference
            with pytest.raises(KeyError):
                K.get(key)
            assert varinit.get(key).get_config() == {"value": 0.0}
            continue
        assert type(varinit.get(key)).__name__ == type(K.get(key)).__name__
        assert varinit.get(key).get_config() == (K.get(key).get_config()
                                                 if key not in ("Identity", "identity",
                                                                "IdentityInitializer")
                                                 else {"gain": 1.0})


def test_module_attributes_identical():
    keras_public = {n for n in dir(K) if not n.startswith("_")} - KERAS_ONLY
    varinit_public = set(varinit.__all__)
    assert keras_public <= varinit_public
    for name in keras_public - {"get", "serialize", "deserialize"}:
        assert (getattr(varinit, name).__name__ == getattr(K, name).__name__)


def test_unseeded_draws_the_same_seed_as_keras():
    random.seed(0)
    keras_seed = K.HeNormal().seed
    random.seed(0)
    assert varinit.HeNormal().seed == keras_seed


# ---- errors: same exception classes ----------------------------------------------

ERROR_CALLS = [
    ("VarianceScaling(scale=0)", lambda M: M.VarianceScaling(scale=0)),
    ("VarianceScaling(scale=-1.0)", lambda M: M.VarianceScaling(scale=-1.0)),
    ("VarianceScaling(scale='a')", lambda M: M.VarianceScaling(scale="a")),
    ("VarianceScaling(mode='FAN_IN')", lambda M: M.VarianceScaling(mode="FAN_IN")),
    ("VarianceScaling(distribution='gaussian')", lambda M: M.VarianceScaling(distribution="gaussian")),
    ("RandomNormal(seed=1.5)", lambda M: M.RandomNormal(seed=1.5)),
    ("HeNormal(seed='x')", lambda M: M.HeNormal(seed="x")),
    ("Orthogonal()((5,))", lambda M: M.Orthogonal(seed=1)((5,))),
    ("Identity()((3,3,3))", lambda M: M.Identity()((3, 3, 3))),
    ("Identity()((3,))", lambda M: M.Identity()((3,))),
    ("get('GLOROT_UNIFORM')", lambda M: M.get("GLOROT_UNIFORM")),
    ("get(42)", lambda M: M.get(42)),
    ("get({'config': {}})", lambda M: M.get({"config": {}})),
    ("get({'class_name': 'Nope'})", lambda M: M.get({"class_name": "Nope", "config": {}})),
    ("GlorotUniform.from_config(scale)", lambda M: M.GlorotUniform.from_config({"scale": 1.0})),
    ("deserialize(bogus key)", lambda M: M.deserialize({"class_name": "HeNormal",
                                                        "config": {"bogus": 1}})),
    ("negative dimension", lambda M: M.GlorotUniform(seed=1)((2, -1))),
    ("float dimension", lambda M: M.GlorotUniform(seed=1)((2, 1.5))),
    ("Orthogonal(gain='x')", lambda M: M.Orthogonal(gain="x", seed=1)((2, 2))),
    ("RandomUniform int dtype", lambda M: M.RandomUniform(seed=1)((2,), "int32")),
]


def _error_class(call, module):
    try:
        call(module)
    except Exception as error:  # noqa: BLE001 - the class is what is compared
        return type(error)
    return None


# Where Keras's behaviour is a bug or a silent failure, varinit raises instead
# (docs/initializers.md, "Differences from Keras").
ERROR_DIFFERENCES = {
    "RandomUniform int dtype": (None, TypeError),   # Keras numpy silently truncates to 0
}


@pytest.mark.parametrize("label,call", ERROR_CALLS, ids=[c[0] for c in ERROR_CALLS])
def test_same_exception_classes(label, call):
    keras_class, varinit_class = _error_class(call, K), _error_class(call, varinit)
    if label in ERROR_DIFFERENCES:
        assert (keras_class, varinit_class) == ERROR_DIFFERENCES[label]
        return
    assert keras_class is not None and varinit_class is not None
    # Keras sometimes raises a numpy subclass (UFuncTypeError is a TypeError).
    assert issubclass(varinit_class, keras_class) or issubclass(keras_class, varinit_class)


def test_same_error_messages():
    cases = [lambda M: M.VarianceScaling(scale=-1.0), lambda M: M.Orthogonal(seed=1)((5,)),
             lambda M: M.Identity()((3, 3, 3)), lambda M: M.get("GLOROT_UNIFORM"),
             lambda M: M.get(42), lambda M: M.GlorotUniform.from_config({"scale": 1.0})]
    for call in cases:
        messages = []
        for module in (K, varinit):
            with pytest.raises(Exception) as info:
                call(module)
            messages.append(str(info.value))
        assert messages[1] in messages[0] or messages[0] == messages[1]
    for module in (K, varinit):
        with pytest.raises(ValueError, match="Invalid `distribution` argument: gaussian.Please use"):
            module.VarianceScaling(distribution="Gaussian")
        with pytest.raises(ValueError, match="Invalid `mode` argument: FAN_IN. Please use one of"):
            module.VarianceScaling(mode="FAN_IN")


# ---- samples: two-sample KS against Keras ----------------------------------------

SAMPLE_SHAPE = (400, 500)
SAMPLE_PAIRS = [
    ("RandomNormal", {}), ("RandomNormal", {"mean": 1.0, "stddev": 2.0}),
    ("RandomUniform", {}), ("RandomUniform", {"minval": -3.0, "maxval": 7.0}),
    ("TruncatedNormal", {}), ("TruncatedNormal", {"mean": 0.5, "stddev": 3.0}),
    ("VarianceScaling", {"scale": 0.5, "mode": "fan_out", "distribution": "untruncated_normal"}),
    ("VarianceScaling", {"scale": 3.0, "mode": "fan_avg", "distribution": "normal"}),
    ("VarianceScaling", {"scale": 1.5, "mode": "fan_out", "distribution": "uniform"}),
    ("GlorotNormal", {}), ("GlorotUniform", {}), ("HeNormal", {}), ("HeUniform", {}),
    ("LecunNormal", {}), ("LecunUniform", {}),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,kwargs", SAMPLE_PAIRS, ids=[p[0] for p in SAMPLE_PAIRS])
def test_two_sample_ks_against_keras(name, kwargs, dtype):
    keras_x = np.asarray(getattr(K, name)(seed=101, **kwargs)(SAMPLE_SHAPE, dtype))
    varinit_x = getattr(varinit, name)(seed=101, **kwargs)(SAMPLE_SHAPE, dtype)
    assert keras_x.dtype == varinit_x.dtype == np.dtype(dtype)
    assert st.ks_2samp(keras_x.ravel(), varinit_x.ravel()).pvalue > 1e-3


def test_two_sample_ks_orthogonal():
    keras_q = np.concatenate([np.asarray(K.Orthogonal(seed=s)((200, 100))).ravel() for s in (1, 2)])
    varinit_q = np.concatenate([varinit.Orthogonal(seed=s)((200, 100)).ravel() for s in (1, 2)])
    assert st.ks_2samp(keras_q, varinit_q).pvalue > 1e-3


@pytest.mark.parametrize("name,kwargs,shape,dtype", [
    ("Zeros", {}, (3, 4), "float32"), ("Ones", {}, (2, 5), "int32"),
    ("Constant", {"value": 1.5}, (4, 2), "float64"),
    ("Constant", {"value": np.array([1.0, 2.0])}, (3, 2), "float32"),
    ("Identity", {"gain": 2.0}, (3, 5), "float32"), ("Identity", {}, (4, 2), "float64"),
])
def test_deterministic_initializers_equal_keras(name, kwargs, shape, dtype):
    expected = np.asarray(getattr(K, name)(**kwargs)(shape, dtype))
    got = getattr(varinit, name)(**kwargs)(shape, dtype)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)
