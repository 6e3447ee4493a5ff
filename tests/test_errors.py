"""Bad input: a clear exception naming the problem, and the buffer untouched."""
import numpy as np
import pytest

import varinit

FILLS = [varinit.fill_uniform, varinit.fill_normal, varinit.fill_truncated_normal]
SENTINEL = 123.0


def _buffer(dtype=np.float32, n=64):
    out = np.empty(n, dtype)
    out[...] = SENTINEL
    return out


def _untouched(out):
    return bool(np.all(out == SENTINEL))


@pytest.mark.parametrize("fill", FILLS)
@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8, np.complex64, np.complex128,
                                   np.bool_, object, np.longdouble])
def test_wrong_dtype_is_type_error(fill, dtype):
    out = np.zeros(8, dtype)
    before = out.copy()
    with pytest.raises(TypeError, match="dtype"):
        fill(out, seed=0)
    assert np.array_equal(out, before)


@pytest.mark.parametrize("fill", FILLS)
def test_not_an_array_is_type_error(fill):
    with pytest.raises(TypeError, match="numpy.ndarray"):
        fill([0.0, 1.0], seed=0)


def test_random_raw_wants_uint32():
    with pytest.raises(TypeError):
        varinit.random_raw(np.zeros(4, np.float32), seed=0)
    with pytest.raises(TypeError):
        varinit.random_raw(np.zeros(4, np.int32), seed=0)


@pytest.mark.parametrize("fill", FILLS)
def test_read_only(fill):
    out = _buffer()
    out.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        fill(out, seed=0)
    assert _untouched(out)


@pytest.mark.parametrize("fill", FILLS)
@pytest.mark.parametrize("make", [
    lambda: _buffer(n=64)[::2],
    lambda: np.asfortranarray(np.full((8, 8), SENTINEL, np.float32)),
    lambda: np.full((8, 8), SENTINEL, np.float32)[:, :3],
])
def test_non_contiguous(fill, make):
    out = make()
    with pytest.raises(ValueError, match="C-contiguous"):
        fill(out, seed=0)
    assert _untouched(out)


@pytest.mark.parametrize("fill", FILLS)
def test_misaligned(fill):
    raw = np.zeros(4 * 65 + 1, np.uint8)
    out = raw[1:].view(np.float32)
    out[...] = SENTINEL
    assert not out.flags.aligned
    with pytest.raises(ValueError, match="aligned"):
        fill(out, seed=0)
    assert _untouched(out)


@pytest.mark.parametrize("fill", FILLS)
def test_byte_swapped(fill):
    out = np.full(16, SENTINEL, np.dtype(np.float32).newbyteorder())
    with pytest.raises(ValueError, match="byte order"):
        fill(out, seed=0)
    assert _untouched(out)


@pytest.mark.parametrize("init", [varinit.GlorotUniform(seed=0), varinit.Zeros(),
                                  varinit.Constant(2.0), varinit.Identity()],
                         ids=lambda i: type(i).__name__)
@pytest.mark.parametrize("dtype", [None, "float32"])
def test_initializer_byte_swapped_out(init, dtype):
    swapped = np.dtype(np.float32).newbyteorder()
    out = np.full((4, 4), SENTINEL, swapped)
    for call in (lambda: init(dtype=dtype, out=out),
                 lambda: init.block((8, 4), (slice(0, 4),), dtype, out=out),
                 lambda: init.rows((8, 4), np.arange(4), dtype, out=out)):
        with pytest.raises(ValueError, match="byte order"):
            call()
        assert _untouched(out)
    # A byte-swapped dtype of the wrong kind is still a TypeError.
    if init._random:
        with pytest.raises(TypeError, match="dtype"):
            init(out=np.zeros(4, np.dtype(np.int32).newbyteorder()))


@pytest.mark.parametrize("fill", FILLS)
@pytest.mark.parametrize("seed,exc", [(-1, ValueError), (2**64, ValueError), (True, TypeError),
                                      (1.0, TypeError), ("1", TypeError), (None, TypeError)])
def test_bad_seed(fill, seed, exc):
    out = _buffer()
    with pytest.raises(exc, match="seed"):
        fill(out, seed=seed)
    assert _untouched(out)


SEEDED_CLASSES = [varinit.RandomNormal, varinit.RandomUniform, varinit.TruncatedNormal,
                  varinit.VarianceScaling, varinit.GlorotUniform, varinit.HeNormal,
                  varinit.Orthogonal, varinit.SeedGenerator]


@pytest.mark.parametrize("cls", SEEDED_CLASSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("seed,exc", [(-1, ValueError), (2**64, ValueError), (True, TypeError),
                                      (1.5, TypeError), ("42", TypeError), ([1], TypeError)])
def test_bad_seed_on_initializers_follows_the_same_policy(cls, seed, exc):
    """A wrong type is a TypeError everywhere (for initializers also a
    ValueError, the class Keras raises); a wrong value a ValueError."""
    with pytest.raises(exc, match="seed") as info:
        cls(seed=seed)
    if exc is TypeError:
        assert isinstance(info.value, ValueError)       # what Keras code catches


def test_one_validator_for_every_integer_argument():
    with pytest.raises(TypeError, match="offset"):
        varinit.fill_uniform(_buffer(), seed=0, offset="3")
    with pytest.raises(TypeError, match="threads"):
        varinit.set_num_threads("2")
    with pytest.raises(TypeError, match="dimension"):
        varinit.GlorotUniform(seed=0)(("3", 2))
    with pytest.raises(TypeError, match="root"):
        varinit.derive_seed("7", "x")
    with pytest.raises(TypeError, match="initstate"):
        varinit.PCG32("1", 2)
    with pytest.raises(ValueError, match="initseq"):
        varinit.PCG32(1, 2**64)
    with pytest.raises(ValueError, match="n must be"):
        varinit.PCG32(1, 2).random_raw(-1)


def test_unknown_keyword_names_the_class_called():
    with pytest.raises(TypeError, match=r"TruncatedNormal\.__init__\(\) got an unexpected"):
        varinit.TruncatedNormal(0.0, 0.02, a=-0.04)


def test_seed_is_required():
    with pytest.raises(TypeError):
        varinit.fill_uniform(_buffer())  # type: ignore[call-arg]


@pytest.mark.parametrize("fill", FILLS)
@pytest.mark.parametrize("offset,exc", [(-1, ValueError), (2**63, ValueError),
                                        (2**63 - 10, ValueError), (1.5, TypeError), (False, TypeError)])
def test_bad_offset(fill, offset, exc):
    out = _buffer()
    with pytest.raises(exc, match="offset"):
        fill(out, seed=0, offset=offset)
    assert _untouched(out)


def test_largest_offset_is_fine():
    out = varinit.fill_uniform(np.empty(10, np.float32), seed=0, offset=2**63 - 10)
    assert np.all((out >= 0) & (out < 1))


@pytest.mark.parametrize("low,high,match", [
    (1.0, 1.0, "less than"), (2.0, 1.0, "less than"), (np.nan, 1.0, "finite"),
    (0.0, np.inf, "finite"), (-np.inf, 0.0, "finite"), (0.0, 1e39, "float32"),
])
def test_bad_uniform_bounds(low, high, match):
    out = _buffer()
    with pytest.raises(ValueError, match=match):
        varinit.fill_uniform(out, low, high, seed=0)
    assert _untouched(out)


def test_uniform_interval_with_no_float32_inside():
    out = _buffer()
    one = 1.0
    with pytest.raises(ValueError, match="no float32 value"):
        varinit.fill_uniform(out, one + 1e-12, one + 2e-12, seed=0)
    assert _untouched(out)


@pytest.mark.parametrize("fill", [varinit.fill_normal, varinit.fill_truncated_normal])
@pytest.mark.parametrize("mean,stddev,match", [
    (0.0, 0.0, "positive"), (0.0, -1.0, "positive"), (np.nan, 1.0, "finite"),
    (0.0, np.inf, "finite"), (1e39, 1.0, "float32"), (0.0, 3e38, "float32"),
])
def test_bad_normal_parameters(fill, mean, stddev, match):
    out = _buffer()
    with pytest.raises(ValueError, match=match):
        fill(out, mean, stddev, seed=0)
    assert _untouched(out)


@pytest.mark.parametrize("fill", FILLS)
@pytest.mark.parametrize("bad", ["0", None, [1.0], True])
def test_parameter_types(fill, bad):
    out = _buffer()
    with pytest.raises(TypeError):
        fill(out, bad, 1.0, seed=0)
    assert _untouched(out)


def test_stddev_too_small_to_resolve():
    out = _buffer()
    with pytest.raises(ValueError, match="too small"):
        varinit.fill_truncated_normal(out, 1.0 + 2**-30, 1e-12, seed=0)
    assert _untouched(out)


def test_float16_parameters_checked_in_float16():
    out = np.full(8, 1.0, np.float16)
    with pytest.raises(ValueError, match="float16"):
        varinit.fill_uniform(out, 0.0, 1e5, seed=0)
    assert np.all(out == 1.0)


@pytest.mark.parametrize("n", [0, -1])
def test_bad_thread_counts(n):
    with pytest.raises(ValueError):
        varinit.set_num_threads(n)
    with pytest.raises(ValueError):
        with varinit.num_threads(n):
            pass


def test_thread_count_type():
    with pytest.raises(TypeError):
        varinit.set_num_threads(2.0)  # type: ignore[arg-type]
