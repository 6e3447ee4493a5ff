"""varinit for PyTorch: ``torch.nn.init`` as a drop-in, whole models, meta-device
models and sharded tables.

The functions have ``torch.nn.init``'s names, arguments, defaults, fans
(``(out, in, *kernel)``), gains and error classes, and return the tensor
they fill in place.  Each also takes ``seed=``; the distributions are
torch's (xavier and kaiming normals are untruncated), the bits are
varinit's stream, not torch's.  ``docs/torch.md`` has the details.

Only varinit's public API is used here; ``import varinit`` never imports
this module or torch.
"""
from __future__ import annotations

import fnmatch
import math
import warnings
from typing import Any, Callable, Iterator, Mapping, Sequence, Union

try:
    import torch
except ImportError as exc:  # pragma: no cover - exercised without torch only
    raise ImportError("varinit.torch needs PyTorch: pip install torch") from exc

import varinit
from varinit import blocks

__all__ = [
    "calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_",
    "eye_", "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
    "kaiming_normal_", "orthogonal_", "sparse_",
    "init_module_", "materialize_", "distribute", "fill_shard_",
]

#: A ``seed=`` argument: an int fill seed, a :class:`varinit.SeedGenerator`
#: (advanced once per call), a ``torch.Generator`` (a seed is drawn from it),
#: or ``None`` (drawn from torch's default generator, so ``torch.manual_seed``
#: decides, as it does for ``torch.nn.init``).
SeedArg = Union[int, "varinit.SeedGenerator", "torch.Generator", None]
#: What ``rules`` maps to: a varinit initializer, a function called as
#: ``fn(tensor, seed=int)`` (any of this module's ``*_`` functions, e.g.
#: through ``functools.partial``), or ``None`` to leave the tensor as it is.
Rule = Union["varinit.Initializer", Callable[..., Any], None]

_LINEAR_FUNCTIONS = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                     "conv_transpose2d", "conv_transpose3d")


# ---------------------------------------------------------------------------
# Seeds and fans
# ---------------------------------------------------------------------------

def _fill_seed(seed: SeedArg, generator: "torch.Generator | None" = None) -> int:
    """The int fill seed of one call."""
    if generator is not None:
        if seed is not None:
            raise ValueError("give seed= or generator=, not both")
        seed = generator
    if seed is None:
        seed = torch.default_generator
    if isinstance(seed, torch.Generator):
        # two 32-bit draws: a full 64-bit seed, reproducible after manual_seed
        high, low = torch.randint(0, 1 << 32, (2,), dtype=torch.int64, generator=seed).tolist()
        return high << 32 | low
    if isinstance(seed, varinit.SeedGenerator):
        return seed.next()
    return seed   # checked by the fill API like every seed


def _fan_in_and_fan_out(tensor: torch.Tensor) -> tuple[int, int]:
    if tensor.dim() < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than "
                         "2 dimensions")
    fan_in, fan_out = varinit.compute_fans(tuple(tensor.shape), layout="torch")
    return int(fan_in), int(fan_out)


def _correct_fan(tensor: torch.Tensor, mode: str) -> int:
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of ['fan_in', 'fan_out']")
    fan_in, fan_out = _fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity, as ``torch.nn.init.calculate_gain``.

    Parameters
    ----------
    nonlinearity : str
        ``"linear"``, the conv names, ``"sigmoid"`` (1), ``"tanh"`` (5/3),
        ``"relu"`` (sqrt 2), ``"leaky_relu"`` (``sqrt(2 / (1 + slope**2))``)
        or ``"selu"`` (3/4).
    param : float, optional
        The negative slope of ``"leaky_relu"``, default 0.01.

    Returns
    -------
    float
        The same value torch returns (the int 1 for the linear ones, as torch).

    Raises
    ------
    ValueError
        For an unknown nonlinearity or a slope that is not a number.
    """
    if nonlinearity in _LINEAR_FUNCTIONS or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


# ---------------------------------------------------------------------------
# torch.nn.init
# ---------------------------------------------------------------------------

def uniform_(tensor: torch.Tensor, a: float = 0.0, b: float = 1.0,
             generator: "torch.Generator | None" = None, *, seed: SeedArg = None) -> torch.Tensor:
    """Fill ``tensor`` with ``U(a, b)``, as ``torch.nn.init.uniform_``.

    Parameters
    ----------
    tensor : torch.Tensor
        A contiguous CPU tensor (or ``Parameter``) of float16, bfloat16,
        float32 or float64; written in place.
    a, b : float
        Bounds, ``a <= b`` (``a == b`` fills ``a``, as torch); rounded
        inward to the dtype, so every value is in ``[a, b)``.
    generator : torch.Generator, optional
        torch's argument: a seed is drawn from it.
    seed : int, SeedGenerator, torch.Generator or None, optional
        The fill seed (:data:`SeedArg`); default: drawn from torch's default
        generator.

    Returns
    -------
    torch.Tensor
        ``tensor``.

    Raises
    ------
    TypeError
        For a non-float tensor.
    ValueError
        For a tensor not on the CPU, on the meta device or not contiguous,
        or ``a > b``; ``tensor`` is then untouched.
    """
    if a == b:
        return constant_(tensor, a)
    return varinit.fill_uniform(tensor, a, b, seed=_fill_seed(seed, generator))


def normal_(tensor: torch.Tensor, mean: float = 0.0, std: float = 1.0,
            generator: "torch.Generator | None" = None, *, seed: SeedArg = None) -> torch.Tensor:
    """Fill ``tensor`` with ``N(mean, std**2)``, as ``torch.nn.init.normal_``.

    Parameters
    ----------
    tensor : torch.Tensor
        As for :func:`uniform_`.
    mean, std : float
        ``std >= 0`` (0 fills ``mean``, as torch).
    generator, seed
        As for :func:`uniform_`.

    Returns
    -------
    torch.Tensor
        ``tensor``.

    Raises
    ------
    TypeError, ValueError
        As for :func:`uniform_`; ``ValueError`` for ``std < 0``.
    """
    if std == 0:
        return constant_(tensor, mean)
    return varinit.fill_normal(tensor, mean, std, seed=_fill_seed(seed, generator))


def trunc_normal_(tensor: torch.Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator: "torch.Generator | None" = None, *,
                  seed: SeedArg = None) -> torch.Tensor:
    """Fill ``tensor`` with ``N(mean, std**2)`` truncated to ``[a, b]``.

    As ``torch.nn.init.trunc_normal_``: ``a`` and ``b`` are absolute bounds,
    not multiples of ``std``.  Exact rejection sampling; every value lies in
    ``[a, b]`` in every dtype (bounds rounded inward), bfloat16 included,
    however far the interval lies from the mean.

    Parameters
    ----------
    tensor : torch.Tensor
        As for :func:`uniform_`.
    mean, std : float
        Of the untruncated normal; ``std > 0``.
    a, b : float
        Bounds, ``a < b``; one of them may be infinite.
    generator, seed
        As for :func:`uniform_`.

    Returns
    -------
    torch.Tensor
        ``tensor``.

    Raises
    ------
    TypeError, ValueError
        As for :func:`varinit.fill_truncated_normal`.
    """
    return varinit.fill_truncated_normal(tensor, mean, std, low=a, high=b,
                                         seed=_fill_seed(seed, generator))


def constant_(tensor: torch.Tensor, val: float, *, seed: SeedArg = None) -> torch.Tensor:
    """Fill ``tensor`` with ``val``, as ``torch.nn.init.constant_``.

    Parameters
    ----------
    tensor : torch.Tensor
        A contiguous CPU tensor of any numeric dtype.
    val : float
        The value; it must fit the dtype.
    seed : optional
        Ignored: the deterministic functions take it too, so that every
        function here can be a rule of :func:`init_module_`.

    Returns
    -------
    torch.Tensor
        ``tensor``.
    """
    return varinit.Constant(val)(out=tensor)


def ones_(tensor: torch.Tensor, *, seed: SeedArg = None) -> torch.Tensor:
    """Fill ``tensor`` with ones, as ``torch.nn.init.ones_``; returns it."""
    return varinit.Ones()(out=tensor)


def zeros_(tensor: torch.Tensor, *, seed: SeedArg = None) -> torch.Tensor:
    """Fill ``tensor`` with zeros, as ``torch.nn.init.zeros_``; returns it."""
    return varinit.Zeros()(out=tensor)


def eye_(tensor: torch.Tensor, *, seed: SeedArg = None) -> torch.Tensor:
    """Fill a 2-D ``tensor`` with the (rectangular) identity, as ``torch.nn.init.eye_``.

    Raises
    ------
    ValueError
        Unless ``tensor`` is 2-D.
    """
    if tensor.dim() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return varinit.Identity()(out=tensor)


def dirac_(tensor: torch.Tensor, groups: int = 1, *, seed: SeedArg = None) -> torch.Tensor:
    """Fill a 3-, 4- or 5-D ``tensor`` with the Dirac delta, as ``torch.nn.init.dirac_``.

    Each of the ``groups`` output-channel groups keeps its input channels:
    the centre tap of ``tensor[g * n + d, d]`` is 1 for ``d < min(n,
    tensor.size(1))`` with ``n = tensor.size(0) // groups``; everything else 0.

    Raises
    ------
    ValueError
        For another rank, or ``tensor.size(0)`` not divisible by ``groups``.
    """
    if tensor.dim() not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    if tensor.size(0) % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    zeros_(tensor)
    per_group = tensor.size(0) // groups
    centre = tuple(size // 2 for size in tensor.shape[2:])
    with torch.no_grad():
        for g in range(groups):
            for d in range(min(per_group, tensor.size(1))):
                tensor[(g * per_group + d, d) + centre] = 1
    return tensor


def xavier_uniform_(tensor: torch.Tensor, gain: float = 1.0,
                    generator: "torch.Generator | None" = None, *,
                    seed: SeedArg = None) -> torch.Tensor:
    """Glorot uniform, as ``torch.nn.init.xavier_uniform_``.

    ``U(-a, a)`` with ``a = gain * sqrt(6 / (fan_in + fan_out))``, fans from
    torch's layout ``(out, in, *kernel)``.

    Raises
    ------
    ValueError
        For a tensor of fewer than 2 dimensions; as :func:`uniform_`.
    """
    fan_in, fan_out = _fan_in_and_fan_out(tensor)
    if tensor.numel() == 0:
        return tensor
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator, seed=seed)


def xavier_normal_(tensor: torch.Tensor, gain: float = 1.0,
                   generator: "torch.Generator | None" = None, *,
                   seed: SeedArg = None) -> torch.Tensor:
    """Glorot normal, as ``torch.nn.init.xavier_normal_``: ``N(0, std**2)``,
    ``std = gain * sqrt(2 / (fan_in + fan_out))``, untruncated.

    Raises
    ------
    ValueError
        For a tensor of fewer than 2 dimensions; as :func:`normal_`.
    """
    fan_in, fan_out = _fan_in_and_fan_out(tensor)
    if tensor.numel() == 0:
        return tensor
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator, seed=seed)


def _kaiming_std(tensor: torch.Tensor, a: float, mode: str, nonlinearity: str) -> float | None:
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return None
    fan = _correct_fan(tensor, mode)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor: torch.Tensor, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu",
                     generator: "torch.Generator | None" = None, *,
                     seed: SeedArg = None) -> torch.Tensor:
    """He uniform, as ``torch.nn.init.kaiming_uniform_``.

    ``U(-bound, bound)``, ``bound = gain * sqrt(3 / fan)`` with ``gain =
    calculate_gain(nonlinearity, a)`` and ``fan`` the ``mode`` fan.  A
    zero-element tensor is left alone with torch's warning.

    Raises
    ------
    ValueError
        For an unknown ``mode`` or ``nonlinearity``, or fewer than 2 dimensions.
    """
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator, seed=seed)


def kaiming_normal_(tensor: torch.Tensor, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu",
                    generator: "torch.Generator | None" = None, *,
                    seed: SeedArg = None) -> torch.Tensor:
    """He normal, as ``torch.nn.init.kaiming_normal_``: ``N(0, std**2)``,
    ``std = gain / sqrt(fan)``, untruncated.

    Raises
    ------
    ValueError
        As for :func:`kaiming_uniform_`.
    """
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    return normal_(tensor, 0.0, std, generator, seed=seed)


def orthogonal_(tensor: torch.Tensor, gain: float = 1,
                generator: "torch.Generator | None" = None, *,
                seed: SeedArg = None) -> torch.Tensor:
    """A (semi-)orthogonal matrix, as ``torch.nn.init.orthogonal_``.

    The tensor is viewed as ``(size(0), numel // size(0))`` (torch's
    flattening of the trailing dimensions) and filled by
    :class:`varinit.Orthogonal` with ``gain``.

    Raises
    ------
    ValueError
        For a tensor of fewer than 2 dimensions.
    """
    if tensor.dim() < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.size(0)
    fill_seed = _fill_seed(seed, generator)
    # a view shares the tensor's storage and version counter
    varinit.Orthogonal(gain, seed=fill_seed)(out=tensor.view(rows, tensor.numel() // rows))
    return tensor


def sparse_(tensor: torch.Tensor, sparsity: float, std: float = 0.01,
            generator: "torch.Generator | None" = None, *,
            seed: SeedArg = None) -> torch.Tensor:
    """A sparse 2-D matrix, as ``torch.nn.init.sparse_``.

    ``N(0, std**2)`` values, then in every column ``ceil(sparsity * rows)``
    rows, chosen uniformly at random without replacement, set to zero.

    Raises
    ------
    ValueError
        Unless ``tensor`` is 2-D.
    """
    if tensor.dim() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor.shape
    fill_seed = _fill_seed(seed, generator)
    normal_(tensor, 0.0, std, seed=fill_seed)
    zeros = math.ceil(sparsity * rows)
    if zeros and cols:
        # A column's zero rows: the first of a uniformly random order of its
        # rows (the ranks of independent uniform keys), from a sub-seed.
        keys = torch.empty((rows, cols), dtype=torch.float64)
        varinit.fill_uniform(keys, seed=varinit.derive_seed(fill_seed, "sparse_"))
        zero_rows = torch.argsort(keys, dim=0, stable=True)[:zeros]
        with torch.no_grad():
            tensor.scatter_(0, zero_rows, 0)
    return tensor


# ---------------------------------------------------------------------------
# Whole models: PyTorch's default schemes
# ---------------------------------------------------------------------------

#: How a default scheme fills a tensor: ``fill(tensor, seed=int)``, as a rule.
_Fill = Callable[..., Any]


def _uniform_bound(bound: float) -> _Fill:
    return lambda t, seed: uniform_(t, -bound, bound, seed=seed)


def _value(value: float) -> _Fill:
    return lambda t, seed: constant_(t, value)


def _weight_and_bias(module: torch.nn.Module) -> Iterator[tuple[str, _Fill]]:
    # Linear and _ConvNd.reset_parameters: kaiming_uniform_(a=sqrt(5)) is
    # U(+-1/sqrt(fan_in)); the bias uses the same bound.
    yield "weight", lambda t, seed: kaiming_uniform_(t, a=math.sqrt(5), seed=seed)
    if module.bias is not None:
        fan_in, _ = _fan_in_and_fan_out(module.weight)
        yield "bias", _uniform_bound(1 / math.sqrt(fan_in) if fan_in > 0 else 0.0)


def _bilinear(module: torch.nn.Module) -> Iterator[tuple[str, _Fill]]:
    bound = 1 / math.sqrt(module.weight.size(1))
    yield "weight", _uniform_bound(bound)
    if module.bias is not None:
        yield "bias", _uniform_bound(bound)


def _embedding(module: torch.nn.Module) -> Iterator[tuple[str, _Fill]]:
    padding_idx = module.padding_idx

    def fill(tensor: torch.Tensor, seed: int) -> None:
        normal_(tensor, seed=seed)
        if padding_idx is not None:
            with torch.no_grad():
                tensor[padding_idx].fill_(0)
    yield "weight", fill


def _affine(module: torch.nn.Module) -> Iterator[tuple[str, _Fill]]:
    # LayerNorm, GroupNorm, RMSNorm and the batch/instance norms: ones and zeros
    if getattr(module, "weight", None) is not None:
        yield "weight", _value(1.0)
    if getattr(module, "bias", None) is not None:
        yield "bias", _value(0.0)


def _batch_norm(module: torch.nn.Module) -> Iterator[tuple[str, _Fill]]:
    yield from _affine(module)
    # reset_running_stats
    for name, value in (("running_mean", 0), ("running_var", 1), ("num_batches_tracked", 0)):
        if getattr(module, name, None) is not None:
            yield name, _value(value)


def _multihead_attention(module: torch.nn.Module) -> Iterator[tuple[str, _Fill]]:
    xavier: _Fill = lambda t, seed: xavier_uniform_(t, seed=seed)
    if module.in_proj_weight is not None:
        yield "in_proj_weight", xavier
    else:
        for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
            yield name, xavier
    if module.in_proj_bias is not None:
        yield "in_proj_bias", _value(0.0)
        yield "out_proj.bias", _value(0.0)
    for name in ("bias_k", "bias_v"):
        if getattr(module, name) is not None:
            yield name, lambda t, seed: xavier_normal_(t, seed=seed)
    # out_proj.weight keeps Linear's scheme (MultiheadAttention leaves it)


def _recurrent(module: torch.nn.Module) -> Iterator[tuple[str, _Fill]]:
    # RNNBase and RNNCellBase: every weight and bias U(+-1/sqrt(hidden_size))
    bound = 1.0 / math.sqrt(module.hidden_size) if module.hidden_size > 0 else 0.0
    for name, _ in module.named_parameters(recurse=False):
        yield name, _uniform_bound(bound)


def _prelu(module: torch.nn.Module) -> Iterator[tuple[str, _Fill]]:
    yield "weight", _value(module.init)


nn = torch.nn
#: PyTorch's own ``reset_parameters`` of the standard layers, in varinit terms.
DEFAULT_SCHEMES: tuple[tuple[tuple[type, ...], Callable[[torch.nn.Module],
                                                        Iterator[tuple[str, _Fill]]]], ...] = (
    ((nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d,
      nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d), _weight_and_bias),
    ((nn.Bilinear,), _bilinear),
    ((nn.Embedding, nn.EmbeddingBag), _embedding),
    ((nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm,
      nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d), _batch_norm),
    ((nn.LayerNorm, nn.GroupNorm, nn.RMSNorm), _affine),
    ((nn.MultiheadAttention,), _multihead_attention),
    ((nn.RNNBase, nn.RNNCellBase), _recurrent),
    ((nn.PReLU,), _prelu),
)
del nn


def _default_scheme(module: torch.nn.Module) -> Iterator[tuple[str, _Fill]]:
    for types, scheme in DEFAULT_SCHEMES:
        if isinstance(module, types):
            return scheme(module)
    return iter(())


def _fill_planned(name: str, tensor: torch.Tensor, how: Rule | _Fill, root: int) -> None:
    seed = varinit.derive_seed(root, name)
    if isinstance(how, varinit.Initializer):
        how.pinned(seed)(out=tensor)
    else:
        how(tensor, seed=seed)


def _check_rules(rules: Mapping[Any, Any] | None) -> Mapping[Any, Any]:
    rules = {} if rules is None else rules
    if not isinstance(rules, Mapping):
        raise TypeError(f"rules must be a mapping, got {type(rules).__name__}")
    for key, value in rules.items():
        if not (isinstance(key, str) or isinstance(key, type)
                and issubclass(key, torch.nn.Module)):
            raise TypeError(f"a rule's key must be a name pattern (str) or a torch.nn.Module "
                            f"subclass, got {key!r}")
        values = value.values() if isinstance(key, type) and isinstance(value, Mapping) else [value]
        for rule in values:
            if rule is not None and not callable(rule):
                raise TypeError(f"rule {key!r} must map to a varinit initializer, a function "
                                f"fn(tensor, seed=...) or None, got {type(rule).__name__}")
    return rules


def _plan(module: torch.nn.Module, rules: Mapping[Any, Any],
          targets: set[int] | None) -> list[tuple[str, torch.Tensor, Rule | _Fill]]:
    """(qualified name, tensor, how to fill it) for every tensor to fill.

    ``targets`` (tensor ids) restricts the plan to those tensors and makes
    an uncovered buffer an error too (:func:`materialize_`); otherwise every
    parameter is covered and buffers only where a scheme or rule names them.
    """
    defaults: dict[str, _Fill] = {}
    type_rules: dict[str, Rule] = {}
    tensors: dict[str, tuple[torch.Tensor, bool]] = {}
    seen: set[int] = set()
    for prefix, sub in module.named_modules():
        dot = prefix + "." if prefix else ""
        for name, fill in _default_scheme(sub):
            defaults.setdefault(dot + name, fill)   # a parent's scheme wins (MHA's out_proj.bias)
        for key, value in rules.items():
            if isinstance(key, type) and isinstance(sub, key):
                for name, _ in [*sub.named_parameters(recurse=False),
                                *sub.named_buffers(recurse=False)]:
                    rule = value.get(name, ...) if isinstance(value, Mapping) else value
                    if rule is not ... and dot + name not in type_rules:
                        type_rules[dot + name] = rule
        for kind, items in (("parameter", sub.named_parameters(recurse=False)),
                            ("buffer", sub.named_buffers(recurse=False))):
            for name, tensor in items:
                if tensor is None or id(tensor) in seen:
                    continue   # tied tensors are filled once, under their first name
                seen.add(id(tensor))
                tensors[dot + name] = (tensor, kind == "parameter")
    plan, missing = [], []
    for qualified, (tensor, is_parameter) in tensors.items():
        if targets is not None and id(tensor) not in targets:
            continue
        pattern = next((key for key in rules if isinstance(key, str)
                        and fnmatch.fnmatchcase(qualified, key)), None)
        if pattern is not None:
            how = rules[pattern]
        elif qualified in type_rules:
            how = type_rules[qualified]
        elif qualified in defaults:
            how = defaults[qualified]
        else:
            if is_parameter or targets is not None:
                missing.append(qualified)
            continue
        if how is not None:
            plan.append((qualified, tensor, how))
    if missing:
        raise ValueError(f"no default scheme and no rule for {', '.join(missing)}: give rules= "
                         "entries for them (a name pattern or module type -> a varinit "
                         "initializer, a function fn(tensor, seed=...) or None to keep it)")
    return plan


def init_module_(module: torch.nn.Module, *, seed: int,
                 rules: Mapping[Any, Any] | None = None) -> torch.nn.Module:
    """Re-initialise every parameter of ``module``, in place, at varinit speed.

    The standard layers get PyTorch's own default scheme (their
    ``reset_parameters``: Linear, Bilinear, Conv1/2/3d and transposed,
    Embedding, EmbeddingBag, LayerNorm, GroupNorm, RMSNorm, the batch and
    instance norms with their running statistics, MultiheadAttention,
    RNN/LSTM/GRU and their cells, PReLU), with varinit's bits.

    Parameters
    ----------
    module : torch.nn.Module
        Its parameters and the buffers that get filled must be CPU tensors.
    seed : int
        Root seed in ``[0, 2**64)``.  The tensor named ``name`` (its
        qualified name in ``module.named_parameters()`` or
        ``named_buffers()``) is filled with the seed
        ``varinit.derive_seed(seed, name)``, so the same model gets the same
        weights on every rank and in every process, whatever the order of
        calls.
    rules : mapping, optional
        Overrides and additions.  A key is a name pattern (``fnmatch``, on
        the qualified name: ``"*.weight"``, ``"decoder.*"``) or a module type
        (its own parameters and buffers); a value is a varinit initializer
        (used with the tensor's seed: give fan-based ones
        ``layout="torch"``), a function ``fn(tensor, seed=int)`` such as
        ``functools.partial(varinit.torch.normal_, std=0.02)``, or ``None``
        to keep the tensor as it is; a type key may also map to a dict
        ``{parameter name: value}``.  The first matching pattern wins, then
        type rules, then the default scheme.

    Returns
    -------
    torch.nn.Module
        ``module``.

    Raises
    ------
    ValueError
        Naming every parameter that neither a default scheme nor a rule
        covers, or every tensor to fill that is not on the CPU, before
        anything is written.
    TypeError
        For malformed rules.

    Examples
    --------
    >>> import torch, varinit.torch as vt
    >>> model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3))
    >>> _ = vt.init_module_(model, seed=0)
    >>> float(model[1].weight.sum())
    3.0
    """
    rules = _check_rules(rules)
    root = _root_seed(seed)
    plan = _plan(module, rules, None)
    misplaced = [f"{name} ({'meta' if tensor.is_meta else tensor.device})"
                 for name, tensor, _ in plan if tensor.is_meta or tensor.device.type != "cpu"]
    if misplaced:
        raise ValueError(f"varinit fills CPU tensors; not on the CPU: {', '.join(misplaced)} "
                         "(materialize_ allocates a meta module)")
    for name, tensor, how in plan:
        _fill_planned(name, tensor, how, root)
    return module


def _root_seed(seed: Any) -> int:
    varinit.derive_seed(seed, "")   # checks type and range before anything is written
    return seed


def materialize_(module: torch.nn.Module, *, seed: int, rules: Mapping[Any, Any] | None = None,
                 device: Any = "cpu") -> torch.nn.Module:
    """Allocate and fill a module built on the meta device, in place.

    Every parameter and buffer on the meta device is replaced by a new
    tensor of the same shape, dtype and class on ``device`` (one per meta
    tensor, so tied weights stay tied; no second copy: peak memory is about
    the model), filled exactly as :func:`init_module_` would fill it.
    Tensors already on a real device are left as they are.  As with
    ``Module.to_empty``, references to the old meta tensors held outside
    the module do not follow.

    Parameters
    ----------
    module : torch.nn.Module
        Built under ``torch.device("meta")`` (wholly or partly).
    seed, rules
        As for :func:`init_module_`; here a buffer without a default scheme
        (e.g. a registered ``arange``) needs a rule too, since it has no
        values to keep (a rule of ``None`` leaves the new storage
        uninitialised, as ``to_empty`` does).
    device : str or torch.device, optional
        Where to allocate, default ``"cpu"`` (varinit fills CPU memory).

    Returns
    -------
    torch.nn.Module
        ``module``.

    Raises
    ------
    ValueError
        Naming every meta tensor no scheme or rule covers, before anything
        is allocated; for a device other than the CPU.

    Examples
    --------
    >>> import torch, varinit.torch as vt
    >>> with torch.device("meta"):
    ...     table = torch.nn.Embedding(1000, 16)
    >>> _ = vt.materialize_(table, seed=0)
    >>> table.weight.device.type
    'cpu'
    """
    device = torch.device(device)
    if device.type != "cpu":
        raise ValueError(f"varinit fills CPU memory; materialize on 'cpu' and move the module "
                         f"to {device} afterwards")
    rules = _check_rules(rules)
    root = _root_seed(seed)
    meta = {id(t) for t in [*module.parameters(), *module.buffers()] if t.is_meta}
    plan = _plan(module, rules, meta)
    allocated: dict[int, torch.Tensor] = {}     # one new tensor per meta tensor: ties stay tied
    for sub in module.modules():
        for name, tensor in [*sub.named_parameters(recurse=False),
                             *sub.named_buffers(recurse=False)]:
            if id(tensor) not in meta:
                continue
            if id(tensor) not in allocated:
                storage = torch.empty_like(tensor, device=device)
                if isinstance(tensor, torch.nn.Parameter):
                    storage = torch.nn.Parameter(storage, requires_grad=tensor.requires_grad)
                allocated[id(tensor)] = storage
            # setattr, not a dict write: a parameter stays a parameter, a buffer
            # keeps its persistence, and RNNs refresh their flat weights
            setattr(sub, name, allocated[id(tensor)])
    for name, tensor, how in plan:
        _fill_planned(name, allocated[id(tensor)], how, root)
    return module


# ---------------------------------------------------------------------------
# Sharded tensors
# ---------------------------------------------------------------------------

def _check_seeded(init: Any, what: str) -> None:
    blocks.check_blockwise(init)
    if init.get_config().get("seed", 0) is None:
        raise ValueError(f"{what} needs an initializer with a seed: an unseeded one draws a "
                         "different seed in every process, so the shards would not fit together")


def fill_shard_(tensor: torch.Tensor, init: Any, global_shape: Sequence[int],
                offsets: Sequence[int]) -> torch.Tensor:
    """Fill ``tensor`` with its part of the global tensor ``init(global_shape)``.

    For frameworks that hand out a local shard and its offsets (a TorchRec
    ``init_fn``, a custom sharding): the values are those the unsharded
    tensor holds at ``offsets + index``, bit for bit, generated alone.

    Parameters
    ----------
    tensor : torch.Tensor
        The local shard: a contiguous CPU float tensor.
    init : varinit.Initializer
        With an explicit seed (the same in every process).
    global_shape : sequence of int
        Shape of the whole tensor (fans come from it).
    offsets : sequence of int
        Global index of ``tensor``'s first element, one per dimension.

    Returns
    -------
    torch.Tensor
        ``tensor``.

    Raises
    ------
    ValueError
        If the shard does not lie inside the global shape, or ``init`` is
        unseeded.

    Examples
    --------
    >>> import torch, varinit, varinit.torch as vt
    >>> init = varinit.RandomNormal(stddev=0.01, seed=7)
    >>> shard = vt.fill_shard_(torch.empty(2, 8), init, (10, 8), (4, 0))
    >>> bool(torch.equal(shard, torch.from_numpy(init((10, 8)))[4:6]))
    True
    """
    _check_seeded(init, "fill_shard_")
    global_shape = blocks.as_shape(global_shape)
    offsets = tuple(offsets)
    if len(offsets) != len(global_shape) or tensor.dim() != len(global_shape):
        raise ValueError(f"offsets {offsets} and the shard's shape {tuple(tensor.shape)} must "
                         f"have one entry per dimension of global_shape {global_shape}")
    index = []
    for axis, (start, size, total) in enumerate(zip(offsets, tensor.shape, global_shape)):
        if not 0 <= start <= start + size <= total:
            raise ValueError(f"the shard [{start}, {start + size}) of axis {axis} is outside "
                             f"the global size {total}")
        index.append(slice(start, start + size))
    return init.pinned().block(global_shape, tuple(index), out=tensor)


def _local_box(shape: tuple[int, ...], mesh: Any, placements: Sequence[Any]) -> list[slice]:
    """This rank's part of ``shape`` under ``placements``, as DTensor lays it out
    (each ``Shard(d)`` splits what is left of dimension ``d`` into
    ``ceil``-sized chunks, mesh dimension by mesh dimension)."""
    from torch.distributed.tensor import Replicate, Shard

    coordinate = mesh.get_coordinate()
    starts, sizes = [0] * len(shape), list(shape)
    for mesh_dim, placement in enumerate(placements):
        if isinstance(placement, Replicate):
            continue
        if type(placement) is not Shard:   # Partial, or a strided shard
            raise ValueError(f"placement {placement} is not Shard(dim) or Replicate(): an "
                             "initial tensor is never a partial sum")
        dim = placement.dim % len(shape) if shape else 0
        chunks = mesh.size(mesh_dim)
        chunk = -(-sizes[dim] // chunks)
        lo = min(chunk * coordinate[mesh_dim], sizes[dim])
        starts[dim] += lo
        sizes[dim] = min(lo + chunk, sizes[dim]) - lo
    return [slice(start, start + size) for start, size in zip(starts, sizes)]


def distribute(init: Any, shape: Sequence[int], device_mesh: Any, placements: Sequence[Any],
               dtype: "torch.dtype | None" = None) -> Any:
    """A ``DTensor`` whose local shard every rank generates itself.

    No communication and nothing bigger than the local shard: each rank
    fills its part of ``init(shape)`` through the block protocol, so the
    global tensor is bit-identical to the unsharded one for any ``Shard``
    / ``Replicate`` placements, uneven splits and meshes of any rank.

    Parameters
    ----------
    init : varinit.Initializer
        With an explicit seed (the same in every process).
    shape : sequence of int
        The global shape.
    device_mesh : torch.distributed.device_mesh.DeviceMesh
        A CPU mesh (gloo); for another device type the shard is generated
        on the CPU and moved once.
    placements : sequence of Shard or Replicate
        One per mesh dimension.
    dtype : torch.dtype, optional
        Default ``torch.get_default_dtype()``.

    Returns
    -------
    torch.distributed.tensor.DTensor

    Raises
    ------
    ValueError
        For ``Partial`` placements, a placement count that is not the
        mesh's rank, or an unseeded ``init``.
    """
    from torch.distributed.tensor import DTensor

    _check_seeded(init, "distribute")
    shape = blocks.as_shape(shape)
    placements = tuple(placements)
    if len(placements) != device_mesh.ndim:
        raise ValueError(f"give one placement per mesh dimension: the mesh has "
                         f"{device_mesh.ndim}, got {len(placements)}")
    dtype = torch.get_default_dtype() if dtype is None else dtype
    if device_mesh.get_coordinate() is None:   # this rank holds no shard
        local = torch.empty((0,) * len(shape), dtype=dtype)
    else:
        box = _local_box(shape, device_mesh, placements)
        local = torch.empty([s.stop - s.start for s in box], dtype=dtype)
        init.pinned().block(shape, tuple(box), out=local)
    if device_mesh.device_type != "cpu":
        local = local.to(device_mesh.device_type)
    stride = torch.empty(shape, device="meta").stride()
    return DTensor.from_local(local, device_mesh, placements, run_check=False,
                              shape=torch.Size(shape), stride=stride)
