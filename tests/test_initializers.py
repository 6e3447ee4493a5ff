"""Initializers: the fill call each one is, its distribution, dtypes, out=, errors."""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats as st

import varinit
from initializer_cases import BF16, C, CASE_IDS, CASES, FLOAT8, Draw, expected_low_precision

SEED = 20240613
LOW_PRECISION = [np.dtype(np.float16)] + ([BF16] if BF16 is not None else []) + FLOAT8


# ---- each random initializer is exactly one fill call ----------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(), (7,), (33, 17), (3, 3, 5, 4), (2, 1, 3, 4, 6)])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_equals_its_fill_call(case, shape, dtype):
    init = case.make(SEED)
    expected = case.draw(shape).fill(np.empty(shape, dtype), seed=SEED)
    got = init(shape, dtype)
    assert got.shape == shape and got.dtype == dtype
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(init(shape, dtype), got)     # same values on every call


# ---- distributions: KS against the exact law, bounds, std ---------------------

# Shapes whose fans give several different scales; ~1e6 samples each.
KS_SHAPES = {"dense": (1000, 1000), "conv": (3, 3, 128, 800)}


# The conv shape only matters where fans do (the variance-scaling family).
DISTRIBUTION_PARAMS = [(case, name) for case in CASES for name in KS_SHAPES
                       if name == "dense" or case.draw((1,)) != case.draw((2, 3))]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case,shape_name", DISTRIBUTION_PARAMS,
                         ids=[f"{c.name}-{n}" for c, n in DISTRIBUTION_PARAMS])
def test_distribution(case, shape_name, dtype):
    shape = KS_SHAPES[shape_name]
    draw = case.draw(shape)
    x = case.make(SEED + 1)(shape, dtype).ravel().astype(np.float64)
    law = draw.distribution()
    # Fixed seeds: the outcome is deterministic; 1e-4 keeps it decisive.
    assert st.kstest(x, draw.cdf, method="asymp").pvalue > 1e-4
    bounds = draw.exact_bounds()
    if bounds is not None:
        lo, hi, hi_open = bounds
        assert x.min() >= float(lo)
        assert (x.max() < float(hi)) if hi_open else (x.max() <= float(hi))
    assert x.std() == pytest.approx(law.std(), rel=3e-3)
    assert x.mean() == pytest.approx(law.mean(), abs=5 * law.std() / math.sqrt(x.size))


@pytest.mark.parametrize("mode,fan", [("fan_in", 1000), ("fan_out", 500), ("fan_avg", 750)])
def test_variance_scaling_truncated_std_is_target(mode, fan):
    # Keras's promise: after truncation the std is sqrt(scale / n), max |x| <= 2 sigma.
    x = varinit.VarianceScaling(2.0, mode, seed=3)((1000, 500), np.float64)
    target = math.sqrt(2.0 / fan)
    assert x.std() == pytest.approx(target, rel=3e-3)
    assert np.abs(x).max() <= 2 * target / C


# ---- low precision ---------------------------------------------------------

@pytest.mark.parametrize("dtype", LOW_PRECISION, ids=str)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_low_precision_is_rounded_float32_stream(case, dtype):
    shape = (300, 200)
    init = case.make(SEED)
    got = init(shape, dtype)
    assert got.dtype == dtype
    expected = expected_low_precision(init(shape, np.float32), case.draw(shape), dtype)
    np.testing.assert_array_equal(got.view(np.uint8), expected.view(np.uint8))
    bounds = case.draw(shape).exact_bounds()
    if bounds is not None:
        lo, hi, hi_open = bounds
        as64 = got.astype(np.float64)
        assert as64.min() >= float(lo)
        assert (as64.max() < float(hi)) if hi_open else (as64.max() <= float(hi))


def test_low_precision_uniform_excludes_upper_bound():
    # A narrow float16 range where RNE of the float32 stream often hits maxval.
    for dtype in LOW_PRECISION:
        x = varinit.RandomUniform(0.0, 1.0, seed=1)((200_000,), dtype).astype(np.float64)
        assert x.max() < 1.0 and x.min() >= 0.0


def test_bfloat16_by_name():
    if BF16 is None:
        pytest.skip("ml_dtypes not installed")
    a = varinit.HeNormal(seed=2)((10, 10), "bfloat16")
    assert a.dtype == BF16


# ---- out= -------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES[:3] + CASES[6:8], ids=CASE_IDS[:3] + CASE_IDS[6:8])
def test_out_gives_the_same_bits(case):
    init = case.make(SEED)
    for dtype in [np.float32, np.float64] + LOW_PRECISION:
        buffer = np.empty((40, 30), dtype)
        assert init(out=buffer) is buffer
        np.testing.assert_array_equal(buffer, init((40, 30), dtype))
        buffer2 = np.empty((40, 30), dtype)
        assert init((40, 30), dtype, out=buffer2) is buffer2
        np.testing.assert_array_equal(buffer2, buffer)


def test_out_errors_leave_buffer_untouched():
    init = varinit.GlorotUniform(seed=0)
    buffer = np.full((4, 5), 7.0, np.float32)
    with pytest.raises(ValueError, match="shape"):
        init((5, 4), out=buffer)
    with pytest.raises(TypeError, match="dtype"):
        init((4, 5), np.float64, out=buffer)
    with pytest.raises(ValueError):
        init(out=np.full((5, 4), 7.0, np.float32).T)              # not C-contiguous
    read_only = np.full((4, 5), 7.0, np.float32)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        init(out=read_only)
    with pytest.raises(TypeError):
        init(out=np.zeros((4, 5), np.int32))
    with pytest.raises(TypeError):
        init(out=[[0.0] * 5] * 4)
    assert (buffer == 7.0).all() and (read_only == 7.0).all()
    ones = np.full((2, 2), 7, np.int64)
    with pytest.raises(ValueError, match="shape"):
        varinit.Ones()((3, 2), out=ones)
    assert (ones == 7).all()


def test_invalid_params_for_dtype_leave_out_untouched():
    # stddev so large that mean + 13 sigma overflows float16.
    buffer = np.full((3,), 5.0, np.float16)
    with pytest.raises(ValueError):
        varinit.RandomNormal(0.0, 1e4, seed=1)(out=buffer)
    assert (buffer == 5.0).all()


# ---- dtypes and shapes --------------------------------------------------------

@pytest.mark.parametrize("case", CASES[::3], ids=CASE_IDS[::3])
@pytest.mark.parametrize("dtype", ["int32", np.int64, bool, np.complex64, "float128" if hasattr(np, "float128") else "U3"])
def test_random_initializers_reject_non_float_dtypes(case, dtype):
    with pytest.raises(TypeError, match=str(np.dtype(dtype))):
        case.make(0)((2, 2), dtype)


def test_default_dtype_is_float32():
    assert varinit.HeNormal(seed=0)((2, 2)).dtype == np.float32
    assert varinit.Zeros()((2, 2)).dtype == np.float32


@pytest.mark.parametrize("bad,error", [((2, -1), ValueError), ((2, 1.5), TypeError),
                                       ((True, 2), TypeError), ("ab", TypeError),
                                       (None, TypeError), ((2, "3"), TypeError)])
def test_bad_shapes(bad, error):
    for init in (varinit.GlorotUniform(seed=0), varinit.Zeros(), varinit.Constant(2)):
        with pytest.raises(error):
            init(bad)


def test_int_shape_and_zero_size_shapes():
    init = varinit.HeUniform(seed=1)
    np.testing.assert_array_equal(init(5), init((5,)))
    assert init((0, 5)).shape == (0, 5)
    assert init(()).shape == ()
    assert varinit.Orthogonal(seed=0)((0, 3)).shape == (0, 3)


def test_unknown_dtype_name():
    with pytest.raises(TypeError):
        varinit.Zeros()((2,), "no_such_dtype")


# ---- constant initializers ---------------------------------------------------

NUMERIC_DTYPES = [np.bool_, np.int8, np.uint16, np.int32, np.int64, np.float16, np.float32,
                  np.float64, np.complex128] + ([BF16] if BF16 is not None else [])


@pytest.mark.parametrize("dtype", NUMERIC_DTYPES, ids=str)
def test_zeros_ones_constant_any_numeric_dtype(dtype):
    np.testing.assert_array_equal(varinit.Zeros()((3, 4), dtype), np.zeros((3, 4), dtype))
    np.testing.assert_array_equal(varinit.Ones()((3, 4), dtype), np.ones((3, 4), dtype))
    got = varinit.Constant(3)((2, 5), dtype)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, np.full((2, 5), 3).astype(dtype))


def test_constant_broadcasts_arrays_and_casts():
    got = varinit.Constant(np.array([1.0, 2.0]))((3, 2))
    np.testing.assert_array_equal(got, [[1, 2]] * 3)
    assert got.dtype == np.float32
    assert varinit.Constant(2.7)((2,), "int32").tolist() == [2, 2]
    with pytest.raises(ValueError, match="broadcast"):
        varinit.Constant(np.ones(3))((2, 2))


@pytest.mark.parametrize("bad", ["x", None, b"1", object(), np.array(["a"])])
def test_constant_rejects_non_numbers(bad):
    with pytest.raises(TypeError):
        varinit.Constant(bad)


def test_constant_initializers_reject_object_dtypes():
    with pytest.raises(TypeError):
        varinit.Ones()((2,), object)


def test_identity():
    np.testing.assert_array_equal(varinit.Identity()((3, 3)), np.eye(3, dtype=np.float32))
    np.testing.assert_array_equal(varinit.Identity(2.5)((2, 4), np.float64), 2.5 * np.eye(2, 4))
    np.testing.assert_array_equal(varinit.Identity(2.0)((4, 2), "int32"), 2 * np.eye(4, 2, dtype=int))
    for shape in [(3,), (3, 3, 3), ()]:
        with pytest.raises(ValueError, match="2D matrices"):
            varinit.Identity()(shape)
    for bad in ["2", None, True, [1.0]]:
        with pytest.raises(TypeError, match="gain"):
            varinit.Identity(bad)


# ---- Orthogonal ---------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,gain", [((6, 4), 1.0), ((4, 6), 1.0), ((3, 3, 4, 8), 2.0),
                                        ((50, 50), 0.5), ((2, 5, 3), 1.0)])
def test_orthogonal_is_orthonormal(shape, gain, dtype):
    q = varinit.Orthogonal(gain=gain, seed=4)(shape, dtype)
    assert q.shape == shape and q.dtype == dtype
    m = q.reshape(-1, shape[-1]).astype(np.float64)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    small = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
    np.testing.assert_allclose(small, gain**2 * np.eye(min(m.shape)), atol=tol * gain**2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_orthogonal_algorithm(dtype):
    # The documented recipe, recomputed with the same LAPACK: fill_normal, QR,
    # sign correction, transpose for wide shapes, reshape, gain.
    shape, gain, seed = (2, 3, 10), 1.5, 9
    rows, cols = 6, 10
    a = varinit.fill_normal(np.empty((max(rows, cols), min(rows, cols)), dtype), 0.0, 1.0, seed=seed)
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))
    expected = (gain * q.T.reshape(shape)).astype(dtype)
    np.testing.assert_array_equal(varinit.Orthogonal(gain, seed=seed)(shape, dtype), expected)


def test_orthogonal_low_precision_uses_float32():
    init = varinit.Orthogonal(seed=1)
    for dtype in LOW_PRECISION:
        np.testing.assert_array_equal(init((20, 12), dtype).view(np.uint8),
                                      init((20, 12), np.float32).astype(dtype).view(np.uint8))


def test_orthogonal_entries_have_variance_one_over_n():
    q = varinit.Orthogonal(seed=2)((400, 400), np.float64)
    assert q.std() == pytest.approx(1 / 20, rel=1e-6)   # exact: rows are unit vectors
    # Haar entries are close to N(0, 1/n): their kurtosis is close to 3.
    assert st.kurtosis(q.ravel(), fisher=False) == pytest.approx(3.0, abs=0.05)


def test_orthogonal_errors():
    for shape in [(), (5,)]:
        with pytest.raises(ValueError, match="at least two-dimensional"):
            varinit.Orthogonal(seed=0)(shape)
    with pytest.raises(TypeError, match="gain"):
        varinit.Orthogonal(gain="x")


# ---- construction errors -------------------------------------------------------

def test_variance_scaling_validation():
    for scale in [0, -1.0, 0.0, math.inf, math.nan]:
        with pytest.raises(ValueError, match="`scale` must be positive"):
            varinit.VarianceScaling(scale=scale)
    with pytest.raises(TypeError):
        varinit.VarianceScaling(scale="a")
    for mode in ["FAN_IN", "fan", 3, None]:
        with pytest.raises(ValueError, match="Invalid `mode` argument"):
            varinit.VarianceScaling(mode=mode)
    with pytest.raises(ValueError, match="Invalid `distribution` argument: gaussian"):
        varinit.VarianceScaling(distribution="Gaussian")
    with pytest.raises(TypeError):
        varinit.VarianceScaling(distribution=3)
    assert varinit.VarianceScaling(distribution="Normal").distribution == "truncated_normal"
    assert varinit.VarianceScaling(distribution="UNIFORM").distribution == "uniform"
    with pytest.raises(TypeError):
        varinit.VarianceScaling(input_axes=[0.5], output_axes=[1])
    with pytest.raises(TypeError):
        varinit.GlorotUniform(input_axes=3, output_axes=[1])
    with pytest.raises(ValueError):
        varinit.HeNormal(layout="tf")
    with pytest.raises(ValueError):
        varinit.HeNormal(layout="torch", input_axes=[1], output_axes=[0])


@pytest.mark.parametrize("make", [
    lambda: varinit.RandomNormal(stddev=0), lambda: varinit.RandomNormal(stddev=-1),
    lambda: varinit.TruncatedNormal(mean=math.inf),
    lambda: varinit.RandomUniform(1.0, 1.0), lambda: varinit.RandomUniform(2.0, 1.0),
])
def test_bad_parameter_values(make):
    with pytest.raises(ValueError):
        make()


@pytest.mark.parametrize("make", [
    lambda: varinit.RandomNormal(mean="0"), lambda: varinit.RandomUniform(minval=None),
    lambda: varinit.TruncatedNormal(stddev=True), lambda: varinit.RandomUniform(maxval=[1]),
])
def test_bad_parameter_types(make):
    with pytest.raises(TypeError):
        make()


def test_base_initializer_must_be_subclassed():
    with pytest.raises(NotImplementedError, match="must implement"):
        varinit.Initializer()((2,))
    assert varinit.Initializer().get_config() == {}


# ---- fan axes and torch layout in initializers ---------------------------------

def test_input_output_axes_and_torch_layout():
    torch_shape, keras_shape = (32, 16, 3, 3), (3, 3, 16, 32)
    for cls in (varinit.HeUniform, varinit.GlorotNormal, varinit.LecunUniform):
        torch_init = cls(seed=1, layout="torch")
        keras_init = cls(seed=1)
        axes_init = cls(seed=1, input_axes=[1, 2, 3], output_axes=[0, 2, 3])
        assert torch_init.fans(torch_shape) == keras_init.fans(keras_shape) == (144, 288)
        np.testing.assert_array_equal(torch_init(torch_shape), axes_init(torch_shape))
    init = varinit.VarianceScaling(1.0, "fan_out", "uniform", seed=0,
                                   input_axes=[0, 1, 2], output_axes=[3])
    limit = math.sqrt(3.0 * (1.0 / 32))
    expected = varinit.fill_uniform(np.empty(keras_shape, np.float32), -limit, limit, seed=0)
    np.testing.assert_array_equal(init(keras_shape), expected)
    with pytest.raises(ValueError):
        varinit.HeNormal(seed=0, layout="torch")((5,))


# ---- aliases and exports ----------------------------------------------------------

def test_snake_case_names_are_the_classes():
    pairs = {"zeros": "Zeros", "ones": "Ones", "constant": "Constant", "identity": "Identity",
             "random_normal": "RandomNormal", "random_uniform": "RandomUniform",
             "truncated_normal": "TruncatedNormal", "variance_scaling": "VarianceScaling",
             "glorot_normal": "GlorotNormal", "glorot_uniform": "GlorotUniform",
             "he_normal": "HeNormal", "he_uniform": "HeUniform", "lecun_normal": "LecunNormal",
             "lecun_uniform": "LecunUniform", "orthogonal": "Orthogonal",
             "IdentityInitializer": "Identity", "OrthogonalInitializer": "Orthogonal"}
    for alias, name in pairs.items():
        assert getattr(varinit, alias) is getattr(varinit, name)
        assert issubclass(getattr(varinit, name), varinit.Initializer)
        assert alias in varinit.__all__ and name in varinit.__all__
    assert isinstance(varinit.he_normal(seed=1), varinit.HeNormal)


# ---- TF1 contrib -------------------------------------------------------------------

def test_contrib_uniform_matches_keras_presets():
    shape = (64, 48)
    pairs = [(varinit.contrib.xavier_initializer(seed=3), varinit.GlorotUniform(seed=3)),
             (varinit.contrib.variance_scaling_initializer(2.0, "FAN_IN", True, seed=3),
              varinit.HeUniform(seed=3)),
             (varinit.contrib.variance_scaling_initializer(1.0, "FAN_IN", True, seed=3),
              varinit.LecunUniform(seed=3))]
    for contrib, preset in pairs:
        np.testing.assert_array_equal(contrib(shape), preset(shape))


@pytest.mark.parametrize("factor,mode,fan", [(2.0, "FAN_IN", 600), (1.0, "FAN_OUT", 800),
                                             (1.0, "FAN_AVG", 700)])
def test_contrib_normal_is_tf1_truncated_normal(factor, mode, fan):
    # TF1: truncated_normal(0, sqrt(1.3 * factor / n)) cut at +-2 sigma.
    init = varinit.contrib.variance_scaling_initializer(factor, mode, uniform=False, seed=5)
    sigma = math.sqrt(1.3 * factor / fan)
    x = init((600, 800), np.float64).ravel()
    assert init.get_config()["scale"] == pytest.approx(1.3 * C**2 * factor, rel=1e-15)
    assert st.kstest(x, Draw("truncated_normal", 0.0, sigma).cdf, method="asymp").pvalue > 1e-4
    assert np.abs(x).max() <= 2 * sigma * (1 + 1e-12)
    assert x.std() == pytest.approx(math.sqrt(1.3) * C * math.sqrt(factor / fan), rel=3e-3)


def test_contrib_xavier_normal_and_dtype():
    init = varinit.contrib.xavier_initializer(uniform=False, seed=1, dtype=np.float64)
    assert init((4, 4)).dtype == np.float64
    assert varinit.contrib.xavier_initializer_conv2d is varinit.contrib.xavier_initializer
    assert init.get_config()["mode"] == "fan_avg"


def test_contrib_dtype_survives_clone():
    init = varinit.contrib.variance_scaling_initializer(dtype="float64", seed=3)
    clone = init.clone()
    assert clone((2, 2)).dtype == np.float64
    np.testing.assert_array_equal(clone((2, 2)), init((2, 2)))
    assert "dtype" not in init.get_config()                       # Keras configs have none
    assert varinit.deserialize(varinit.serialize(init))((2, 2)).dtype == np.float32
    assert varinit.GlorotUniform(seed=0).clone()((2, 2)).dtype == np.float32


def test_contrib_errors():
    with pytest.raises(TypeError, match="non-floating point"):
        varinit.contrib.variance_scaling_initializer(dtype=np.int32)
    with pytest.raises(TypeError, match="Unknown mode fan_in"):
        varinit.contrib.variance_scaling_initializer(mode="fan_in")
    with pytest.raises(TypeError, match="non-floating point"):
        varinit.contrib.xavier_initializer(dtype="int64")


# ---- the name table of docs/initializers.md ------------------------------------------

def test_name_table_recipes():
    n_out, n_in = 300, 1000
    # torch nn.Linear default: U(+-1/sqrt(fan_in)) on an (out, in) weight.
    linear = varinit.VarianceScaling(1 / 3, "fan_in", "uniform", layout="torch", seed=1)
    x = linear((n_out, n_in), np.float64).ravel()
    bound = 1 / math.sqrt(n_in)
    assert st.kstest(x, st.uniform(-bound, 2 * bound).cdf, method="asymp").pvalue > 1e-4
    # np.random.randn(n_out, n_in) * sqrt(1 / n_in)
    randn = varinit.VarianceScaling(1.0, "fan_in", "untruncated_normal", layout="torch", seed=2)
    x = randn((n_out, n_in), np.float64).ravel()
    assert st.kstest(x, st.norm(0, math.sqrt(1 / n_in)).cdf, method="asymp").pvalue > 1e-4
    # torch xavier_normal_(w, gain=2): N(0, 4 * 2 / (fi + fo)), untruncated.
    xavier = varinit.VarianceScaling(4.0, "fan_avg", "untruncated_normal", layout="torch", seed=3)
    x = xavier((n_out, n_in), np.float64).ravel()
    assert st.kstest(x, st.norm(0, math.sqrt(8 / (n_in + n_out))).cdf, method="asymp").pvalue > 1e-4
    # flax Embed: N(0, 1 / features) on (num_embeddings, features).
    embed = varinit.VarianceScaling(1.0, "fan_in", "untruncated_normal", input_axes=[1],
                                    output_axes=[0], seed=4)
    assert embed.fans((5000, 64)) == (64, 5000)
    x = embed((5000, 64), np.float64).ravel()
    assert st.kstest(x, st.norm(0, 1 / 8).cdf, method="asymp").pvalue > 1e-4


def test_docstring_examples():
    import doctest
    import varinit.initializers, varinit._config, varinit._seeds, varinit._fans, varinit.contrib
    for module in (varinit, varinit._fill, varinit.initializers, varinit._config, varinit._seeds,
                   varinit._fans, varinit.contrib):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, module.__name__
