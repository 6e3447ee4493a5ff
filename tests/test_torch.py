"""varinit with PyTorch: tensors as buffers, the torch.nn.init drop-ins against
torch's own functions, whole modules and meta-device modules.

Everything here runs against the real torch (the test extra pins it).
"""
from __future__ import annotations

import functools
import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest

torch = pytest.importorskip("torch")
stats = pytest.importorskip("scipy.stats")

import varinit                      # noqa: E402
import varinit.torch as vt          # noqa: E402

nn = torch.nn
FLOATS = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
#: KS p-values of matching distributions stay far above this with the fixed seeds
#: below; the negative control shows the same test rejects a 10% scale error.
P_MIN = 1e-3


def bits(t: torch.Tensor) -> np.ndarray:
    """The bit patterns of a tensor, for exact comparisons."""
    width = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}[t.element_size()]
    return t.detach().contiguous().view(width).numpy().copy()


def values(t: torch.Tensor) -> np.ndarray:
    return t.detach().to(torch.float64).numpy().ravel()


# ---------------------------------------------------------------------------
# Optional import
# ---------------------------------------------------------------------------

def test_import_varinit_does_not_import_torch():
    code = "import sys, varinit; varinit.fill_uniform; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_varinit_torch_without_torch_says_how_to_install():
    code = textwrap.dedent("""
        import sys
        sys.modules["torch"] = None          # import torch now raises ImportError
        try:
            import varinit.torch
        except ImportError as exc:
            assert "pip install torch" in str(exc), exc
        else:
            raise SystemExit("no ImportError")
    """)
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------------
# Tensors as buffers
# ---------------------------------------------------------------------------

FILLS = [
    ("uniform", lambda out: varinit.fill_uniform(out, -0.5, 2.0, seed=11, offset=5)),
    ("normal", lambda out: varinit.fill_normal(out, 0.1, 0.3, seed=12)),
    ("truncated", lambda out: varinit.fill_truncated_normal(out, 0.0, 0.02, low=-0.03,
                                                            high=0.05, seed=13)),
]


@pytest.mark.parametrize("dtype", FLOATS + [torch.float8_e4m3fn, torch.float8_e5m2], ids=str)
@pytest.mark.parametrize("name, fill", FILLS, ids=[f[0] for f in FILLS])
def test_fill_tensor_in_place_equals_numpy(name, fill, dtype):
    tensor = torch.empty((37, 129), dtype=dtype)
    pointer = tensor.data_ptr()
    result = fill(tensor)
    assert result is tensor and tensor.data_ptr() == pointer
    expected = fill(np.empty((37, 129), varinit.dtypes.resolve_dtype(dtype)))
    assert np.array_equal(bits(tensor).view(f"u{tensor.element_size()}"),
                          expected.view(f"u{tensor.element_size()}"))


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("init", [varinit.GlorotUniform(seed=1), varinit.TruncatedNormal(seed=2),
                                  varinit.HeNormal(seed=3, layout="torch"),
                                  varinit.Orthogonal(seed=4), varinit.Constant(0.25),
                                  varinit.Ones(), varinit.Identity(2.0)],
                         ids=lambda i: type(i).__name__)
def test_initializer_out_tensor_equals_array(init, dtype):
    tensor = torch.empty((24, 40), dtype=dtype)
    assert init(out=tensor) is tensor
    expected = init((24, 40), varinit.dtypes.resolve_dtype(dtype))
    assert np.array_equal(bits(tensor), expected.view(bits(tensor).dtype))


def test_block_and_rows_into_tensors():
    init = varinit.RandomNormal(seed=5)
    full = init((100, 16))
    block = init.block((100, 16), (slice(10, 30), slice(4, 12)), out=torch.empty(20, 8))
    assert np.array_equal(block.numpy(), full[10:30, 4:12])
    ids = np.array([3, 99, 3, -2])
    rows = init.rows((100, 16), ids, out=torch.empty(4, 16))
    assert np.array_equal(rows.numpy(), full[ids])


def test_torch_dtype_arguments():
    a = varinit.GlorotUniform(seed=1)((8, 8), dtype=torch.bfloat16)
    b = varinit.GlorotUniform(seed=1)((8, 8), dtype="bfloat16")
    assert a.dtype == b.dtype and np.array_equal(a.view(np.uint16), b.view(np.uint16))
    assert varinit.Zeros()((3,), dtype=torch.int32).dtype == np.int32
    with pytest.raises(TypeError, match="cannot generate dtype int32"):
        varinit.HeNormal(seed=1)((3, 3), dtype=torch.int32)
    with pytest.raises(TypeError, match="out has dtype float32"):
        varinit.HeNormal(seed=1)((3, 3), dtype=torch.float64, out=torch.empty(3, 3))


def test_parameter_keeps_autograd_state_and_autograd_sees_the_write():
    layer = nn.Linear(6, 4)
    version = layer.weight._version
    vt.normal_(layer.weight, seed=1)
    assert layer.weight.requires_grad and layer.weight.grad_fn is None
    assert type(layer.weight) is nn.Parameter and layer.weight._version > version
    # a value saved for backward, then overwritten: autograd must refuse, as for torch's own
    loss = (layer.weight * layer.weight).sum()
    varinit.fill_uniform(layer.weight, seed=2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


BAD_TENSORS = [
    ("meta", lambda: torch.empty(4, 4, device="meta"), ValueError, "meta device"),
    ("transposed", lambda: torch.zeros(4, 6).t(), ValueError, "contiguous"),
    ("strided", lambda: torch.zeros(8, 6)[::2], ValueError, "contiguous"),
    ("int", lambda: torch.zeros(4, 4, dtype=torch.int32), TypeError, "int32"),
    ("bool", lambda: torch.zeros(4, dtype=torch.bool), TypeError, "bool"),
    ("complex", lambda: torch.zeros(4, dtype=torch.complex64), TypeError, "complex64"),
    ("sparse", lambda: torch.zeros(4, 4).to_sparse(), ValueError, "layout"),
]


@pytest.mark.parametrize("make, error, message", [b[1:] for b in BAD_TENSORS],
                         ids=[b[0] for b in BAD_TENSORS])
@pytest.mark.parametrize("call", [
    lambda t: varinit.fill_normal(t, seed=1),
    lambda t: varinit.GlorotUniform(seed=1)(out=t),
    lambda t: vt.trunc_normal_(t, seed=1),
], ids=["fill", "initializer", "varinit.torch"])
def test_bad_tensors_raise_and_stay_untouched(call, make, error, message):
    tensor = make()
    before = None if tensor.is_meta or tensor.is_sparse else tensor.clone()
    with pytest.raises(error, match=message):
        call(tensor)
    if before is not None:
        assert torch.equal(tensor, before)


def test_docstring_examples():
    import doctest
    assert doctest.testmod(vt, optionflags=doctest.ELLIPSIS).failed == 0


def test_other_objects_are_refused_not_copied():
    with pytest.raises(TypeError, match="numpy.ndarray or a torch.Tensor, got list"):
        varinit.fill_uniform([0.0, 0.0], seed=1)


# ---------------------------------------------------------------------------
# calculate_gain, fans, error classes
# ---------------------------------------------------------------------------

GAIN_CASES = [(n, None) for n in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                                  "conv_transpose2d", "conv_transpose3d", "sigmoid", "tanh",
                                  "relu", "leaky_relu", "selu")]
GAIN_CASES += [("leaky_relu", 0.2), ("leaky_relu", 0), ("leaky_relu", 3), ("relu", 5.0)]


@pytest.mark.parametrize("nonlinearity, param", GAIN_CASES)
def test_calculate_gain_equals_torch(nonlinearity, param):
    expected = nn.init.calculate_gain(nonlinearity, param)
    got = vt.calculate_gain(nonlinearity, param)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize("nonlinearity, param", [("softmax", None), ("leaky_relu", "0.1"),
                                                 ("leaky_relu", True)])
def test_calculate_gain_errors_as_torch(nonlinearity, param):
    with pytest.raises(ValueError) as theirs:
        nn.init.calculate_gain(nonlinearity, param)
    with pytest.raises(ValueError) as ours:
        vt.calculate_gain(nonlinearity, param)
    assert str(ours.value) == str(theirs.value)


ERROR_CASES = [
    ("eye_ 3-D", lambda f, t: f.eye_(t), (2, 3, 4)),
    ("eye_ 1-D", lambda f, t: f.eye_(t), (5,)),
    ("dirac_ 2-D", lambda f, t: f.dirac_(t), (4, 4)),
    ("dirac_ 6-D", lambda f, t: f.dirac_(t), (2, 2, 1, 1, 1, 1)),
    ("dirac_ groups", lambda f, t: f.dirac_(t, groups=3), (4, 2, 3)),
    ("orthogonal_ 1-D", lambda f, t: f.orthogonal_(t), (6,)),
    ("sparse_ 3-D", lambda f, t: f.sparse_(t, 0.5), (2, 3, 4)),
    ("xavier 1-D", lambda f, t: f.xavier_uniform_(t), (6,)),
    ("xavier_normal 1-D", lambda f, t: f.xavier_normal_(t), (6,)),
    ("kaiming 1-D", lambda f, t: f.kaiming_normal_(t), (6,)),
    ("kaiming mode", lambda f, t: f.kaiming_uniform_(t, mode="fan_avg"), (4, 4)),
    ("kaiming nonlinearity", lambda f, t: f.kaiming_uniform_(t, nonlinearity="gelu"), (4, 4)),
]


@pytest.mark.parametrize("call, shape", [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES])
def test_errors_have_torchs_class_and_message(call, shape):
    with pytest.raises(Exception) as theirs:
        call(nn.init, torch.zeros(shape))
    tensor = torch.zeros(shape)
    with pytest.raises(Exception) as ours:
        call(vt, tensor)
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value)
    assert not tensor.any()


@pytest.mark.parametrize("shape", [(500, 300), (16, 8, 3, 3), (40, 70, 5), (12, 8, 2, 2, 3)])
@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
def test_fans_and_bounds_as_torch(shape, mode):
    fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    glorot = math.sqrt(6.0 / (fan_in + fan_out)) * 1.5
    x = values(vt.xavier_uniform_(torch.empty(shape, dtype=torch.float64), gain=1.5, seed=1))
    assert np.abs(x).max() <= glorot and np.abs(x).max() > 0.95 * glorot
    fan = fan_in if mode == "fan_in" else fan_out
    he = nn.init.calculate_gain("leaky_relu", 0.3) * math.sqrt(3.0 / fan)
    x = values(vt.kaiming_uniform_(torch.empty(shape, dtype=torch.float64), a=0.3, mode=mode,
                                   seed=2))
    assert np.abs(x).max() <= he and np.abs(x).max() > 0.95 * he


# ---------------------------------------------------------------------------
# Distributions: two-sample KS against torch's own functions
# ---------------------------------------------------------------------------

RANDOM_CASES = [
    ("uniform_", lambda f, t, **s: f.uniform_(t, -0.3, 0.7, **s)),
    ("normal_", lambda f, t, **s: f.normal_(t, 0.5, 2.0, **s)),
    ("trunc_normal_", lambda f, t, **s: f.trunc_normal_(t, **s)),
    ("trunc_normal_ narrow", lambda f, t, **s: f.trunc_normal_(t, 0.0, 0.02, -0.04, 0.01, **s)),
    ("trunc_normal_ tail", lambda f, t, **s: f.trunc_normal_(t, 0.0, 1.0, 2.5, 4.0, **s)),
    ("xavier_uniform_", lambda f, t, **s: f.xavier_uniform_(t, gain=2.0, **s)),
    ("xavier_normal_", lambda f, t, **s: f.xavier_normal_(t, **s)),
    ("kaiming_uniform_", lambda f, t, **s: f.kaiming_uniform_(t, a=0.1, mode="fan_out", **s)),
    ("kaiming_normal_", lambda f, t, **s: f.kaiming_normal_(t, nonlinearity="relu", **s)),
]
SHAPE = (256, 128, 2, 2)          # 2**17 values; fans 512 and 1024


def _ours_and_theirs(call, dtype, shape=SHAPE):
    torch.manual_seed(1234)
    theirs = call(nn.init, torch.empty(shape, dtype=dtype))
    ours = call(vt, torch.empty(shape, dtype=dtype), seed=99)
    return values(ours), values(theirs)


#: Where torch's own sampler is off, measured here: in bfloat16 its uniform
#: proposals for a tail interval are rounded before the accept test, which
#: doubles the mass at the lower bound.  There the reference is the exact
#: truncated normal (scipy), rounded to the dtype, and torch's own must fail it.
TORCH_DEFECTS = {("trunc_normal_ tail", torch.bfloat16): (2.5, 4.0)}


@pytest.mark.filterwarnings("ignore:mean is more than 2 std:UserWarning")   # torch's, for the tail
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("name, call", RANDOM_CASES, ids=[c[0] for c in RANDOM_CASES])
def test_distribution_matches_torch(name, call, dtype):
    ours, theirs = _ours_and_theirs(call, dtype)
    if (name, dtype) in TORCH_DEFECTS:
        a, b = TORCH_DEFECTS[name, dtype]
        exact = stats.truncnorm(a, b).rvs(size=ours.size, random_state=1)
        reference = values(torch.from_numpy(exact).to(dtype))
        assert stats.ks_2samp(theirs, reference).pvalue < 1e-6    # torch's defect is still there
        theirs = reference
    assert stats.ks_2samp(ours, theirs).pvalue > P_MIN
    # and the moments, to a few standard errors
    n = ours.size
    assert abs(ours.mean() - theirs.mean()) < 6 * theirs.std() / math.sqrt(n)
    assert abs(ours.std() / theirs.std() - 1) < 0.02


def test_ks_rejects_a_ten_percent_scale_error():
    torch.manual_seed(1234)
    theirs = values(nn.init.normal_(torch.empty(SHAPE), 0.0, 1.1))
    ours = values(vt.normal_(torch.empty(SHAPE), 0.0, 1.0, seed=99))
    assert stats.ks_2samp(ours, theirs).pvalue < 1e-6


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
def test_trunc_normal_in_bounds_in_every_dtype(dtype):
    for a, b in [(-0.04, 0.04), (-0.03, 0.01), (0.1, 0.3), (-2.0, 2.0)]:
        x = values(vt.trunc_normal_(torch.empty(1 << 16, dtype=dtype), 0.0, 0.02, a, b, seed=3))
        assert x.min() >= a and x.max() <= b, (dtype, a, b, x.min(), x.max())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("shape", [(64, 200), (200, 64), (32, 4, 5, 3)])
def test_orthogonal_like_torch(shape, dtype):
    ours = vt.orthogonal_(torch.empty(shape, dtype=dtype), gain=2.0, seed=5)
    rows = shape[0]
    flat = ours.reshape(rows, -1).to(torch.float64)
    small = min(flat.shape)
    gram = flat @ flat.T if rows <= flat.shape[1] else flat.T @ flat
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    assert torch.allclose(gram, 4.0 * torch.eye(small, dtype=torch.float64), atol=tol * 40)
    torch.manual_seed(5)
    theirs = nn.init.orthogonal_(torch.empty(shape, dtype=dtype), gain=2.0)
    assert stats.ks_2samp(values(ours), values(theirs)).pvalue > P_MIN


def test_sparse_like_torch():
    shape = (400, 300)
    ours = vt.sparse_(torch.empty(shape), 0.3, std=0.05, seed=6)
    torch.manual_seed(6)
    theirs = nn.init.sparse_(torch.empty(shape), 0.3, std=0.05)
    zeros = math.ceil(0.3 * shape[0])
    assert ((ours == 0).sum(dim=0) == zeros).all()
    assert ((theirs == 0).sum(dim=0) == zeros).all()
    # the zero rows differ from column to column and cover the rows evenly
    per_row = (ours == 0).sum(dim=1).numpy()
    assert stats.chisquare(per_row).pvalue > P_MIN
    assert stats.ks_2samp(values(ours[ours != 0]), values(theirs[theirs != 0])).pvalue > P_MIN


# ---------------------------------------------------------------------------
# The deterministic ones: exactly torch's values
# ---------------------------------------------------------------------------

EXACT_CASES = [
    ("constant_", lambda f, t: f.constant_(t, 0.3), (5, 7)),
    ("ones_", lambda f, t: f.ones_(t), (3, 4, 2)),
    ("zeros_", lambda f, t: f.zeros_(t), (9,)),
    ("eye_ wide", lambda f, t: f.eye_(t), (3, 5)),
    ("eye_ tall", lambda f, t: f.eye_(t), (6, 2)),
    ("dirac_ 3-D", lambda f, t: f.dirac_(t), (4, 3, 5)),
    ("dirac_ 4-D groups", lambda f, t: f.dirac_(t, groups=2), (6, 2, 3, 3)),
    ("dirac_ 5-D", lambda f, t: f.dirac_(t), (2, 4, 3, 2, 3)),
]


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("call, shape", [c[1:] for c in EXACT_CASES], ids=[c[0] for c in EXACT_CASES])
def test_deterministic_functions_equal_torch(call, shape, dtype):
    theirs = call(nn.init, torch.full(shape, 7.0, dtype=dtype))
    ours = call(vt, torch.full(shape, 7.0, dtype=dtype))
    assert torch.equal(ours, theirs)


# ---------------------------------------------------------------------------
# Seeds
# ---------------------------------------------------------------------------

def test_seed_kinds():
    t = lambda: torch.empty(1000)
    assert torch.equal(vt.normal_(t(), seed=3), vt.normal_(t(), seed=3))
    assert torch.equal(vt.normal_(t(), seed=3), varinit.fill_normal(t(), seed=3))
    assert not torch.equal(vt.normal_(t(), seed=3), vt.normal_(t(), seed=4))
    # torch.Generator: a seed is drawn, so the generator's state decides
    g1, g2 = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    first = vt.uniform_(t(), generator=g1)
    assert torch.equal(first, vt.uniform_(t(), seed=g2))
    assert not torch.equal(first, vt.uniform_(t(), generator=g1))
    # no seed: torch's default generator, as torch.nn.init
    torch.manual_seed(0)
    a = vt.kaiming_normal_(torch.empty(30, 40))
    torch.manual_seed(0)
    assert torch.equal(a, vt.kaiming_normal_(torch.empty(30, 40)))
    # a SeedGenerator advances once per call
    sg = varinit.SeedGenerator(5)
    b, c = vt.normal_(t(), seed=sg), vt.normal_(t(), seed=sg)
    assert not torch.equal(b, c)
    assert torch.equal(c, varinit.fill_normal(t(), seed=varinit.SeedGenerator(5).fill_seed(1)))
    with pytest.raises(ValueError, match="not both"):
        vt.normal_(t(), seed=1, generator=torch.Generator())
    with pytest.raises(TypeError):
        vt.normal_(t(), seed="1")


def test_degenerate_parameters_as_torch():
    assert (vt.uniform_(torch.empty(5), 0.25, 0.25, seed=1) == 0.25).all()
    assert (vt.normal_(torch.empty(5), 1.5, 0.0, seed=1) == 1.5).all()
    with pytest.warns(UserWarning, match="zero-element"):
        vt.kaiming_uniform_(torch.empty(0, 4), seed=1)
    with pytest.raises(ValueError):
        vt.uniform_(torch.empty(5), 1.0, 0.0, seed=1)


# ---------------------------------------------------------------------------
# Whole modules
# ---------------------------------------------------------------------------

class Everything(nn.Module):
    """One of every layer init_module_ knows, big enough for KS per parameter."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(300, 200)
        self.bilinear = nn.Bilinear(40, 50, 60)
        self.conv1 = nn.Conv1d(16, 32, 5)
        self.conv2 = nn.Conv2d(16, 32, 3, groups=2)
        self.conv3 = nn.Conv3d(8, 16, 3)
        self.convt1 = nn.ConvTranspose1d(16, 32, 5)
        self.convt2 = nn.ConvTranspose2d(32, 16, 3)
        self.convt3 = nn.ConvTranspose3d(8, 16, 3)
        self.embedding = nn.Embedding(2000, 64, padding_idx=3)
        self.bag = nn.EmbeddingBag(1000, 64)
        self.layer_norm = nn.LayerNorm(64)
        self.group_norm = nn.GroupNorm(4, 32)
        self.batch_norm1 = nn.BatchNorm1d(32)
        self.batch_norm2 = nn.BatchNorm2d(16)
        self.batch_norm3 = nn.BatchNorm3d(8)
        self.rms_norm = nn.RMSNorm(64)
        self.attention = nn.MultiheadAttention(96, 4, add_bias_kv=True)
        self.cross_attention = nn.MultiheadAttention(64, 2, kdim=32, vdim=48)
        self.rnn = nn.RNN(32, 64, num_layers=2)
        self.lstm = nn.LSTM(32, 64, bidirectional=True, proj_size=16)
        self.gru = nn.GRU(32, 48)
        self.cell = nn.LSTMCell(32, 64)


def _fresh(seed: int = 0) -> Everything:
    torch.manual_seed(seed)
    return Everything()


def test_init_module_matches_torchs_reset_parameters():
    theirs = _fresh()
    ours = vt.init_module_(_fresh(1), seed=42)
    theirs_params = dict(theirs.named_parameters())
    assert set(dict(ours.named_parameters())) == set(theirs_params)
    for name, p in ours.named_parameters():
        q = theirs_params[name]
        x, y = values(p), values(q)
        if np.all(y == y[0]) and name != "embedding.weight":   # the constants: exactly
            assert np.array_equal(x, y), name
            continue
        assert stats.ks_2samp(x, y).pvalue > P_MIN, name
    assert not ours.embedding.weight[3].any()
    for module in (ours.batch_norm1, ours.batch_norm2):
        assert not module.running_mean.any() and (module.running_var == 1).all()
        assert module.num_batches_tracked == 0


def test_init_module_refuses_meta_before_writing():
    model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 4, device="meta"))
    before = model[0].weight.clone()
    with pytest.raises(ValueError, match="1.weight .meta."):
        vt.init_module_(model, seed=1)
    assert torch.equal(model[0].weight, before)


def test_init_module_seeds_come_from_names():
    model = vt.init_module_(nn.Sequential(nn.Linear(10, 20), nn.Embedding(30, 4)), seed=9)
    expected = vt.kaiming_uniform_(torch.empty(20, 10), a=math.sqrt(5),
                                   seed=varinit.derive_seed(9, "0.weight"))
    assert torch.equal(model[0].weight, expected)
    expected = vt.normal_(torch.empty(30, 4), seed=varinit.derive_seed(9, "1.weight"))
    assert torch.equal(model[1].weight, expected)
    # the same names in another model, built in another order: the same values
    other = nn.Sequential()
    other.add_module("1", nn.Embedding(30, 4))
    other.add_module("0", nn.Linear(10, 20))
    vt.init_module_(other, seed=9)
    assert torch.equal(getattr(other, "0").weight, model[0].weight)
    assert torch.equal(getattr(other, "1").weight, model[1].weight)
    # and the same values in a fresh process (nothing depends on the session)
    code = textwrap.dedent("""
        import sys, torch, varinit.torch as vt
        m = vt.init_module_(torch.nn.Sequential(torch.nn.Linear(10, 20)), seed=9)
        sys.stdout.write(m[0].weight.detach().numpy().tobytes().hex())
    """)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout == model[0].weight.detach().numpy().tobytes().hex()


class Custom(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(8, 8)
        self.scale = nn.Parameter(torch.full((8,), 5.0))
        self.table = nn.Parameter(torch.full((50, 8), 5.0))


def test_rules():
    model = Custom()
    before = {n: p.clone() for n, p in model.named_parameters()}
    with pytest.raises(ValueError, match="scale, table"):
        vt.init_module_(model, seed=1)
    for name, p in model.named_parameters():       # nothing was written
        assert torch.equal(p, before[name]), name
    vt.init_module_(model, seed=1, rules={
        "scale": None,                                              # kept
        "table": varinit.TruncatedNormal(stddev=0.02, seed=0),      # seed: the parameter's
        nn.Linear: {"bias": functools.partial(vt.constant_, val=0.5)},
    })
    assert torch.equal(model.scale, before["scale"])
    expected = varinit.TruncatedNormal(stddev=0.02).pinned(varinit.derive_seed(1, "table"))
    assert np.array_equal(model.table.detach().numpy(), expected((50, 8)))
    assert (model.proj.bias == 0.5).all()
    assert not torch.equal(model.proj.weight, before["proj.weight"])   # default scheme
    # a pattern beats a type rule and the default scheme
    vt.init_module_(model, seed=1, rules={"*.weight": vt.zeros_, "scale": None, "table": None,
                                          nn.Linear: vt.ones_})
    assert not model.proj.weight.any() and (model.proj.bias == 1).all()
    with pytest.raises(TypeError, match="rule"):
        vt.init_module_(model, seed=1, rules={"scale": 3.0})
    with pytest.raises(TypeError, match="key"):
        vt.init_module_(model, seed=1, rules={3: vt.zeros_})
    with pytest.raises((TypeError, ValueError)):
        vt.init_module_(model, seed=-1)


# ---------------------------------------------------------------------------
# Meta-device modules
# ---------------------------------------------------------------------------

def test_materialize_equals_init_module():
    torch.manual_seed(0)
    with torch.device("meta"):
        meta = Everything()
    vt.materialize_(meta, seed=42)
    real = vt.init_module_(_fresh(), seed=42)
    tensors = lambda m: {**dict(m.named_parameters()), **dict(m.named_buffers())}
    for name, tensor in tensors(real).items():
        mine = tensors(meta)[name]
        assert mine.device.type == "cpu" and type(mine) is type(tensor), name
        assert np.array_equal(bits(mine), bits(tensor)), name
    out, _ = meta.lstm(torch.zeros(3, 1, 32))       # the module works
    assert out.shape == (3, 1, 32)


def test_materialize_keeps_ties_and_needs_rules_for_unknown_buffers():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(100, 16)
            self.head = nn.Linear(16, 100, bias=False)
            self.head.weight = self.embed.weight
            self.register_buffer("positions", torch.arange(10))

    with torch.device("meta"):
        model = Tied()
    with pytest.raises(ValueError, match="positions"):
        vt.materialize_(model, seed=1)
    assert model.embed.weight.is_meta                # nothing allocated
    fill_positions = lambda t, seed: t.copy_(torch.arange(10))
    vt.materialize_(model, seed=1, rules={"positions": fill_positions})
    assert model.head.weight is model.embed.weight and not model.embed.weight.is_meta
    assert torch.equal(model.positions, torch.arange(10))
    assert torch.equal(model.embed.weight, vt.normal_(torch.empty(100, 16),
                                                      seed=varinit.derive_seed(1, "embed.weight")))
    with pytest.raises(ValueError, match="CPU"):
        vt.materialize_(nn.Linear(2, 2, device="meta"), seed=1, device="cuda")


def test_materialize_allocates_once():
    """Peak memory of materialising a 256 MiB table is about the table, not two copies."""
    code = textwrap.dedent("""
        import torch, varinit.torch as vt

        def status(key):                                # kB, from /proc/self/status
            with open("/proc/self/status") as f:
                return next(int(line.split()[1]) for line in f if line.startswith(key))

        with torch.device("meta"):
            table = torch.nn.Embedding(1 << 20, 64)     # 256 MiB of float32
        vt.materialize_(torch.nn.Embedding(4, 4, device="meta"), seed=1)  # warm the code path
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")                                # reset the peak (VmHWM) to now
        before = status("VmRSS:")
        vt.materialize_(table, seed=1)
        print((status("VmRSS:") - before) / 1024, (status("VmHWM:") - before) / 1024)
    """)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    grown, peak = map(float, out.stdout.split())
    assert grown > 0.95 * 256                           # the table is really there
    assert peak < 1.15 * 256, (grown, peak)             # and nothing else of its size was
