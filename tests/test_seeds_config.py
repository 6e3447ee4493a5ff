"""Seed semantics (int / None / SeedGenerator / numpy Generator), derive_seed, configs, get()."""
from __future__ import annotations

import hashlib
import json
import random

import numpy as np
import pytest

import varinit
from initializer_cases import CASE_IDS, CASES

MASK = (1 << 64) - 1


def fmix64(k):
    """MurmurHash3's finalizer, as docs/initializers.md defines the k-th fill seed."""
    k ^= k >> 33
    k = (k * 0xFF51AFD7ED558CCD) & MASK
    k ^= k >> 33
    k = (k * 0xC4CEB9FE1A85EC53) & MASK
    k ^= k >> 33
    return k


# ---- int seeds and None -------------------------------------------------------

@pytest.mark.parametrize("case", CASES[::2], ids=CASE_IDS[::2])
def test_int_seed_same_values_every_call_and_instance(case):
    a, b = case.make(11), case.make(11)
    np.testing.assert_array_equal(a((20, 10)), a((20, 10)))
    np.testing.assert_array_equal(a((20, 10)), b((20, 10)))
    assert not np.array_equal(a((20, 10)), case.make(12)((20, 10)))


def test_large_int_seeds():
    for seed in (0, 2**32 + 5, 2**64 - 1, np.uint64(2**63)):
        x = varinit.HeNormal(seed=seed)((5, 5))
        expected = varinit.HeNormal(seed=int(seed))((5, 5))
        np.testing.assert_array_equal(x, expected)


def test_none_seed_is_drawn_once_from_python_random():
    random.seed(1234)
    expected_seed = random.randint(1, 10**9)
    random.seed(1234)
    init = varinit.GlorotUniform()
    assert init.seed == expected_seed
    np.testing.assert_array_equal(init((8, 8)), init((8, 8)))           # same every call
    np.testing.assert_array_equal(init((8, 8)), varinit.GlorotUniform(seed=expected_seed)((8, 8)))
    other = varinit.GlorotUniform()                                     # next draw: differs
    assert not np.array_equal(init((8, 8)), other((8, 8)))
    assert init.get_config()["seed"] is None
    random.seed(1234)
    np.testing.assert_array_equal(varinit.GlorotUniform()((8, 8)), init((8, 8)))


@pytest.mark.parametrize("bad", [1.5, "3", [1], True, object()])
def test_bad_seed_types(bad):
    with pytest.raises(ValueError, match="seed"):
        varinit.RandomNormal(seed=bad)


@pytest.mark.parametrize("bad", [-1, 2**64])
def test_seed_out_of_range(bad):
    with pytest.raises(ValueError, match="2\\*\\*64"):
        varinit.HeUniform(seed=bad)


# ---- SeedGenerator ----------------------------------------------------------------

def test_seed_generator_kth_call_uses_documented_fill_seed():
    root = 42
    init = varinit.RandomUniform(-1, 1, seed=varinit.SeedGenerator(root))
    for k in range(4):
        expected = varinit.fill_uniform(np.empty(50, np.float32), -1, 1, seed=root ^ fmix64(k))
        np.testing.assert_array_equal(init((50,)), expected)
    assert fmix64(0) == 0    # so call 0 equals the int seed, as in Keras
    np.testing.assert_array_equal(
        varinit.HeNormal(seed=varinit.SeedGenerator(7))((9, 9)), varinit.HeNormal(seed=7)((9, 9)))


def test_seed_generator_calls_differ_and_block_rows_do_not_advance():
    generator = varinit.SeedGenerator(5)
    init = varinit.GlorotNormal(seed=generator)
    peeked_block = init.block((30, 20), (slice(0, 30),))
    peeked_rows = init.rows((30, 20), np.arange(30))
    assert generator.calls == 0
    first = init((30, 20))
    assert generator.calls == 1
    np.testing.assert_array_equal(first, peeked_block)
    np.testing.assert_array_equal(first, peeked_rows)
    second = init((30, 20))
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(init.block((30, 20), (slice(None),)), init((30, 20)))


def test_seed_generator_shared_between_initializers_advances_once_per_call():
    generator = varinit.SeedGenerator(3)
    a, b = varinit.HeNormal(seed=generator), varinit.HeUniform(seed=generator)
    a((4, 4)); b((4, 4)); a((4, 4))
    assert generator.calls == 3
    assert generator.peek() == 3 ^ fmix64(3)


def test_seed_generator_none_and_errors():
    random.seed(99)
    expected = random.randint(1, 10**9)
    random.seed(99)
    assert varinit.SeedGenerator().seed == expected
    assert varinit.SeedGenerator().get_config()["seed"] is None
    for bad in (1.5, "x", True):
        with pytest.raises(ValueError, match="must be an integer"):
            varinit.SeedGenerator(bad)
    with pytest.raises(ValueError):
        varinit.SeedGenerator(-3)
    with pytest.raises(TypeError):
        varinit.SeedGenerator(1, name=3)


def test_numpy_generator_is_read_once_at_construction():
    expected = int(np.random.default_rng(8).integers(0, 2**64, dtype=np.uint64))
    rng = np.random.default_rng(8)
    init = varinit.HeUniform(seed=rng)
    after = rng.bit_generator.state
    assert init.seed == expected
    np.testing.assert_array_equal(init((6, 6)), init((6, 6)))
    np.testing.assert_array_equal(init((6, 6)), varinit.HeUniform(seed=expected)((6, 6)))
    assert rng.bit_generator.state == after                  # not read again by calls
    assert init.get_config()["seed"] == expected             # so the config round-trips
    np.testing.assert_array_equal(init.clone()((6, 6)), init((6, 6)))


# ---- derive_seed --------------------------------------------------------------------

def test_derive_seed_is_the_documented_hash():
    for root, name in [(0, "embedding"), (2**64 - 1, "layer/kernel"), (7, "é🙂"), (3, "")]:
        digest = hashlib.blake2b(root.to_bytes(8, "little") + name.encode("utf-8"),
                                 digest_size=8, person=b"varinit.derive").digest()
        assert varinit.derive_seed(root, name) == int.from_bytes(digest, "little")
    names = [f"table_{i}" for i in range(1000)]
    assert len({varinit.derive_seed(1, n) for n in names}) == 1000
    assert varinit.derive_seed(1, "a") != varinit.derive_seed(2, "a")


def test_derive_seed_errors():
    with pytest.raises(ValueError):
        varinit.derive_seed(-1, "a")
    with pytest.raises(TypeError):          # a wrong type, as everywhere
        varinit.derive_seed(1.0, "a")
    with pytest.raises(TypeError):
        varinit.derive_seed(1, b"a")


# ---- configs ----------------------------------------------------------------------

ALL_KINDS = [
    varinit.Zeros(), varinit.Ones(), varinit.Constant(2.5), varinit.Constant(np.array([1.0, 2.0])),
    varinit.Identity(3.0), varinit.RandomNormal(0.1, 0.2, seed=1),
    varinit.RandomUniform(-1, 2, seed=2), varinit.TruncatedNormal(0.0, 0.3, seed=3),
    varinit.VarianceScaling(0.5, "fan_out", "uniform", seed=4, input_axes=[0], output_axes=[1]),
    varinit.GlorotNormal(seed=5), varinit.GlorotUniform(seed=6), varinit.HeNormal(seed=7),
    varinit.HeUniform(seed=8), varinit.LecunNormal(seed=9), varinit.LecunUniform(seed=10),
    varinit.Orthogonal(2.0, seed=11), varinit.HeNormal(seed=12, layout="torch"),
]


@pytest.mark.parametrize("init", ALL_KINDS, ids=lambda i: type(i).__name__)
def test_config_round_trips_reproduce_values(init):
    config = init.get_config()
    assert json.loads(json.dumps(config)) == config                 # JSON-serializable
    copies = [type(init).from_config(config), init.clone(),
              varinit.deserialize(varinit.serialize(init)),
              varinit.get(json.loads(json.dumps(varinit.serialize(init))))]
    for copy in copies:
        assert type(copy) is type(init)
        assert copy.get_config() == config
        np.testing.assert_array_equal(copy((4, 2)), init((4, 2)))


def test_config_keys_are_keras_keys():
    assert varinit.GlorotUniform(seed=1).get_config() == {"seed": 1, "input_axes": None,
                                                          "output_axes": None}
    assert varinit.VarianceScaling(seed=None, distribution="normal").get_config() == {
        "seed": None, "scale": 1.0, "mode": "fan_in", "distribution": "truncated_normal",
        "input_axes": None, "output_axes": None}
    assert list(varinit.RandomNormal(seed=1).get_config()) == ["seed", "mean", "stddev"]
    assert list(varinit.RandomUniform(seed=1).get_config()) == ["seed", "minval", "maxval"]
    assert varinit.Orthogonal(seed=1).get_config() == {"seed": 1, "gain": 1.0}
    assert varinit.Identity().get_config() == {"gain": 1.0}           # Keras 3.15 drops gain
    assert varinit.Constant(3).get_config() == {"value": 3}
    assert varinit.Zeros().get_config() == {} == varinit.Ones().get_config()
    assert varinit.HeNormal(seed=1, layout="torch").get_config()["layout"] == "torch"


def test_keras_style_configs_load():
    assert varinit.Identity.from_config({}).gain == 1.0
    constant = varinit.Constant.from_config(
        {"value": {"class_name": "__tensor__", "config": {"value": [1.0, 2.0], "dtype": "float32"}}})
    np.testing.assert_array_equal(constant((2, 2)), [[1, 2], [1, 2]])
    legacy = varinit.VarianceScaling.from_config(
        {"seed": 3, "scale": 2.0, "mode": "fan_in", "distribution": "uniform"})   # no axes keys
    np.testing.assert_array_equal(legacy((5, 5)), varinit.HeUniform(seed=3)((5, 5)))


def test_seed_generator_in_config():
    generator = varinit.SeedGenerator(3, name="gen")
    init = varinit.RandomNormal(seed=generator)
    first = init((5,))
    init((5,))
    config = init.get_config()
    assert config["seed"] == {"module": "keras.random", "class_name": "SeedGenerator",
                              "config": {"seed": 3, "name": "gen"}, "registered_name": None}
    clone = init.clone()
    assert isinstance(clone.seed, varinit.SeedGenerator) and clone.seed is not generator
    np.testing.assert_array_equal(clone((5,)), first)        # a fresh generator: call 0 again


def test_unseeded_round_trip_draws_a_new_seed():
    random.seed(5)
    init = varinit.HeNormal()
    expected_clone_seed = random.randint(1, 10**9)      # the next draw of Python's random
    random.seed(5)
    init = varinit.HeNormal()
    clone = init.clone()
    assert clone.get_config()["seed"] is None
    assert clone.seed == expected_clone_seed != init.seed
    random.seed(5)
    a = varinit.HeNormal().clone()
    random.seed(5)
    b = varinit.HeNormal().clone()
    np.testing.assert_array_equal(a((3, 3)), b((3, 3)))


@pytest.mark.parametrize("cls,config", [
    (varinit.GlorotUniform, {"scale": 1.0}), (varinit.HeNormal, {"mode": "fan_in"}),
    (varinit.RandomNormal, {"bogus": 1}), (varinit.Zeros, {"value": 0}),
    (varinit.Constant, {"value": 1, "dtype": "x"}), (varinit.Identity, {"gain": 1, "x": 2}),
])
def test_unknown_config_keys(cls, config):
    with pytest.raises(TypeError, match="unexpected keyword|takes no arguments"):
        cls.from_config(config)


# ---- get / serialize / deserialize ------------------------------------------------------

KERAS_KEYS = {
    "Initializer": "Initializer", "initializer": "Initializer",
    "Constant": "Constant", "constant": "Constant", "Identity": "Identity",
    "identity": "Identity", "IdentityInitializer": "Identity", "Ones": "Ones", "ones": "Ones",
    "one": "Ones", "Zeros": "Zeros", "zeros": "Zeros", "zero": "Zeros",
    "GlorotNormal": "GlorotNormal", "glorot_normal": "GlorotNormal",
    "GlorotUniform": "GlorotUniform", "glorot_uniform": "GlorotUniform",
    "HeNormal": "HeNormal", "he_normal": "HeNormal", "HeUniform": "HeUniform",
    "he_uniform": "HeUniform", "LecunNormal": "LecunNormal", "lecun_normal": "LecunNormal",
    "LecunUniform": "LecunUniform", "lecun_uniform": "LecunUniform",
    "Orthogonal": "Orthogonal", "orthogonal": "Orthogonal", "OrthogonalInitializer": "Orthogonal",
    "RandomNormal": "RandomNormal", "random_normal": "RandomNormal", "normal": "RandomNormal",
    "RandomUniform": "RandomUniform", "random_uniform": "RandomUniform", "uniform": "RandomUniform",
    "TruncatedNormal": "TruncatedNormal", "truncated_normal": "TruncatedNormal",
    "VarianceScaling": "VarianceScaling", "variance_scaling": "VarianceScaling",
}


def test_get_alias_table():
    from varinit._config import ALL_OBJECTS_DICT
    assert {k: v.__name__ for k, v in ALL_OBJECTS_DICT.items()} == KERAS_KEYS
    for key, name in KERAS_KEYS.items():
        obj = varinit.get(key)
        assert type(obj) is getattr(varinit, name)
    assert varinit.get("uniform").get_config()["minval"] == -0.05


def test_get_other_identifiers():
    assert varinit.get(None) is None
    init = varinit.HeNormal(seed=1)
    assert varinit.get(init) is init
    function = lambda shape, dtype=None: np.zeros(shape)  # noqa: E731
    assert varinit.get(function) is function
    assert isinstance(varinit.get(varinit.GlorotUniform), varinit.GlorotUniform)
    assert varinit.get({"class_name": "he_normal", "config": {"seed": 2}}).seed == 2
    assert isinstance(varinit.get({"class_name": "Ones"}), varinit.Ones)
    stored = np.arange(6.0).reshape(2, 3)
    direct = varinit.get(stored)
    np.testing.assert_array_equal(direct((2, 3), "float16"), stored.astype(np.float16))
    with pytest.raises(ValueError, match="Expected `shape`"):
        direct((3, 2))
    assert varinit.get("constant").get_config() == {"value": 0.0}     # Keras raises KeyError


@pytest.mark.parametrize("identifier,message", [
    ("GLOROT_UNIFORM", "Could not interpret initializer identifier: GLOROT_UNIFORM"),
    ("no_such", "Could not interpret initializer identifier"),
    ("STFT", "Could not interpret initializer identifier"),
    (42, "Could not interpret initializer identifier: 42"),
    ({"class_name": "Nope", "config": {}}, "Could not interpret initializer identifier"),
    ({"config": {}}, "Unknown `config` as a `dict`"),
])
def test_get_errors(identifier, message):
    with pytest.raises(ValueError, match=message):
        varinit.get(identifier)


def test_serialize_form_and_errors():
    assert varinit.serialize(varinit.HeUniform(seed=4)) == {
        "module": "keras.initializers", "class_name": "HeUniform",
        "config": {"seed": 4, "input_axes": None, "output_axes": None}, "registered_name": None}
    assert varinit.serialize(None) is None
    with pytest.raises(TypeError):
        varinit.serialize(lambda shape: shape)
    with pytest.raises(TypeError, match="unexpected keyword"):
        varinit.deserialize({"class_name": "GlorotUniform", "config": {"scale": 2.0}})

    class Custom(varinit.Zeros):
        pass

    assert type(varinit.deserialize({"class_name": "Custom"}, custom_objects={"Custom": Custom})) is Custom


def test_initializers_and_seed_generators_pickle():
    import pickle
    generator = varinit.SeedGenerator(21)
    init = varinit.HeNormal(seed=generator)
    init((3, 3))
    copy = pickle.loads(pickle.dumps(init))
    assert copy.seed.calls == 1 and copy.seed is not generator
    np.testing.assert_array_equal(copy((3, 3)), init((3, 3)))      # both at call 1
    assert generator.calls == 2 and copy.seed.calls == 2
    for other in ALL_KINDS:
        np.testing.assert_array_equal(pickle.loads(pickle.dumps(other))((4, 2)), other((4, 2)))


def test_memmap_out_goes_window_by_window_with_the_call_seed(tmp_path, monkeypatch):
    from varinit import _boxes as blocks
    monkeypatch.setattr(blocks, "MAPPED_THRESHOLD", 0)      # window even a small map
    windows = []
    original = blocks.fill_windowed

    def spy(init, out, **kwargs):
        filled = original(init, out, **kwargs)
        windows.append(filled)
        return filled

    monkeypatch.setattr(blocks, "fill_windowed", spy)
    generator = varinit.SeedGenerator(8)
    init = varinit.GlorotUniform(seed=generator)
    expected = [varinit.GlorotUniform(seed=8 ^ fmix64(k))((300, 70)) for k in range(2)]
    for k in range(2):
        mapped = np.memmap(tmp_path / f"w{k}.bin", dtype=np.float32, mode="w+", shape=(300, 70))
        assert init(out=mapped) is mapped
        np.testing.assert_array_equal(np.asarray(mapped), expected[k])
    assert windows == [True, True] and generator.calls == 2
