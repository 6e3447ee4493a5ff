"""varinit for JAX: ``jax.nn.initializers`` as drop-ins, inside and outside ``jit``,
and sharded arrays whose shards are generated where they live.

Every name of ``jax.nn.initializers`` is here with JAX's signature, defaults,
fans (``in_axis``/``out_axis``/``batch_axis``), dtype defaults and error
classes; each returns ``init(key, shape, dtype=..., out_sharding=None) ->
jax.Array``.  The distributions are JAX's (``variance_scaling``'s
``"normal"`` is untruncated, ``"truncated_normal"`` carries JAX's stddev
correction); the values come from varinit's stream, seeded from the key's
data by :func:`key_seed`, never from ``jax.random``.  With a concrete key
the array is generated on the host and handed to JAX without a copy; with
a traced key (under ``jit``, ``vmap``, flax's jitted ``init``) the same host
function runs through ``jax.pure_callback``, so the program carries no
constant and ``jit`` gives the same bits.  ``docs/jax.md`` has the details.

Only varinit's public API is used here; ``import varinit`` never imports
this module or JAX.
"""
from __future__ import annotations

import hashlib
import math
import operator
from typing import Any, Callable, Sequence, Union

import numpy as np

try:
    import jax
    import jax.numpy as jnp
except ImportError as exc:  # pragma: no cover - exercised without jax only
    raise ImportError("varinit.jax needs JAX: pip install jax") from exc

import varinit
from varinit import blocks
from varinit import dtypes as vdtypes

__all__ = [
    "zeros", "ones", "constant", "uniform", "normal", "truncated_normal", "variance_scaling",
    "glorot_uniform", "glorot_normal", "xavier_uniform", "xavier_normal",
    "he_uniform", "he_normal", "kaiming_uniform", "kaiming_normal",
    "lecun_uniform", "lecun_normal", "orthogonal", "delta_orthogonal",
    "Initializer", "key_seed", "sharded", "KEY_SEED_PERSON",
]

#: ``person`` of the blake2b hash that turns a key into a fill seed.
KEY_SEED_PERSON = b"varinit.jax"

#: std of N(0, 1) restricted to (-2, 2): JAX's correction in variance_scaling.
_TRUNCATED_STDDEV = 0.87962566103423978

Axes = Union[int, Sequence[int]]
#: What ``out_sharding`` takes, as in JAX: a ``NamedSharding`` (any concrete
#: ``jax.sharding.Sharding``), a ``PartitionSpec`` under ``jax.set_mesh``, or None.
OutSharding = Union["jax.sharding.Sharding", "jax.sharding.PartitionSpec", None]
#: JAX's protocol of what the factories return: ``init(key, shape, dtype=None,
#: out_sharding=None) -> jax.Array`` (``jax.nn.initializers.Initializer``).
Initializer = jax.nn.initializers.Initializer


# ---------------------------------------------------------------------------
# Keys and seeds
# ---------------------------------------------------------------------------

def _typed_key(key: Any, name: str) -> "jax.Array":
    """``key`` as a typed key array of shape (), with JAX's errors."""
    if key is None or not hasattr(key, "dtype"):
        if key is None:
            raise TypeError(f"unexpected PRNG key type {type(key)}")
        typed = jax.random.wrap_key_data(key)      # raises JAX's TypeError
    elif jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        typed = key
    else:
        # a raw uint32 key: the default implementation's key data, as JAX reads it
        if np.ndim(key) > 1:
            raise ValueError(f"{name} accepts a single key, but was given a key array of "
                             f"shape {np.shape(key)} != (). Use jax.vmap for batching.")
        typed = jax.random.wrap_key_data(key)
    if typed.shape != ():
        raise ValueError(f"{name} accepts a single key, but was given a key array of shape "
                         f"{typed.shape} != (). Use jax.vmap for batching.")
    return typed


def _seed_of(impl: str, data: np.ndarray) -> int:
    payload = impl.encode("utf-8") + b"\x00" + np.ascontiguousarray(data, "<u4").tobytes()
    digest = hashlib.blake2b(payload, digest_size=8, person=KEY_SEED_PERSON).digest()
    return int.from_bytes(digest, "little")


def key_seed(key: Any) -> int:
    """The varinit fill seed a JAX key stands for.

    ``int.from_bytes(blake2b(impl + b"\\0" + data, digest_size=8,
    person=b"varinit.jax").digest(), "little")`` with ``impl`` the key's
    implementation name (``jax.random.key_impl``, e.g. ``"threefry2x32"``,
    UTF-8) and ``data`` its key data (``jax.random.key_data``) as
    little-endian uint32.  A raw uint32 key is read as JAX reads it, with
    the default implementation (``jax.config.jax_default_prng_impl``), so
    ``PRNGKey(0)`` and ``key(0)`` give the same seed.  Stable across hosts,
    processes and JAX versions; split keys give different seeds.

    Parameters
    ----------
    key : jax.Array
        A concrete key: typed (``jax.random.key``) or raw (``PRNGKey``).

    Returns
    -------
    int
        In ``[0, 2**64)``.

    Raises
    ------
    TypeError, ValueError
        For what is not a single key, as ``jax.random`` raises.

    Examples
    --------
    >>> import jax, varinit.jax as vj
    >>> vj.key_seed(jax.random.key(0)) == vj.key_seed(jax.random.PRNGKey(0))
    True
    """
    typed = _typed_key(key, "key_seed")
    return _seed_of(str(jax.random.key_impl(typed)), np.asarray(jax.random.key_data(typed)))


def _key_parts(key: Any, name: str) -> tuple[str, "jax.Array", np.ndarray | None]:
    """(implementation name, key data, the data on the host or None if traced)."""
    typed = _typed_key(key, name)
    impl = str(jax.random.key_impl(typed))
    data = jax.random.key_data(typed)
    try:
        host = np.asarray(data)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        host = None
    return impl, data, host


# ---------------------------------------------------------------------------
# Shapes, dtypes, parameters
# ---------------------------------------------------------------------------

def _shape(shape: Any) -> tuple[int, ...]:
    items = tuple(shape) if np.iterable(shape) else (shape,)
    try:
        dims = tuple(operator.index(d) for d in items)
    except TypeError:
        raise TypeError("Shapes must be 1D sequences of concrete values of integer type, "
                        f"got {shape}.") from None
    if any(d < 0 for d in dims):
        raise ValueError(f"negative dimensions are not allowed, got shape={dims}")
    return dims


def _canonical_dtype(dtype: Any) -> np.dtype:
    """JAX's default float dtype for None (``jnp.float_``: float32 unless x64),
    and JAX's canonical dtype (float64 is float32 without x64)."""
    return np.dtype(jax.dtypes.canonicalize_dtype(jnp.float_ if dtype is None else dtype))


def _default_dtype(dtype: Any) -> Any:
    """``dtype``, or JAX's default float dtype for None (as JAX's constants)."""
    return _canonical_dtype(None) if dtype is None else dtype


def _float_dtype(dtype: Any, function: str, complex_ok: bool = False) -> np.dtype:
    """The dtype of a random call, with JAX's error for a non-float dtype
    (naming the ``jax.random`` function JAX would have called)."""
    resolved = _canonical_dtype(dtype)
    if not jnp.issubdtype(resolved, jnp.floating):
        if not (complex_ok and jnp.issubdtype(resolved, jnp.complexfloating)):
            kinds = "a float or complex dtype" if complex_ok else "a float dtype"
            raise ValueError(f"dtype argument to `{function}` must be {kinds}, got {resolved}")
    row = vdtypes.lookup(resolved)
    if row is None or not row.is_float:
        names = ", ".join(d.name for d in vdtypes.FLOAT_DTYPES)
        raise ValueError(f"varinit.jax generates the real float dtypes {names}; "
                         f"got {resolved} (JAX's own initializer handles it)")
    return resolved


def _round(value: Any, dtype: np.dtype) -> float:
    """``jnp.array(value, dtype)`` as a Python float: JAX's parameters are
    rounded to the output dtype before use."""
    return float(np.asarray(value, np.float64).astype(dtype))


# ---------------------------------------------------------------------------
# Generation: host buffers, the eager path, the callback path, shards
# ---------------------------------------------------------------------------

_ALIGN = 64                  # JAX's CPU client aliases numpy buffers aligned to this


def _host_empty(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """An uninitialised C-contiguous buffer aligned to 64 bytes, so that
    ``jax.device_put`` on the CPU aliases it instead of copying it."""
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes == 0:
        return np.empty(shape, dtype)
    raw = np.empty(nbytes + _ALIGN, np.uint8)
    start = -raw.ctypes.data % _ALIGN
    return raw[start:start + nbytes].view(dtype).reshape(shape)


def _to_jax(array: np.ndarray) -> "jax.Array":
    return jax.device_put(array, may_alias=True)


class _Recipe:
    """How to generate one (initializer, shape, dtype) call for any seed.

    ``init`` is a varinit initializer built (and checked) at trace time with
    seed 0; a call pins its seed with ``init.pinned(seed)``, which does no
    float arithmetic, so the host callback (run by JAX with FTZ/DAZ set)
    computes nothing but the fill.  ``whole(seed, out)`` overrides the fill
    of the whole tensor (orthogonal matrices), and makes the recipe
    non-blockwise.
    """

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype,
                 init: "varinit.Initializer | None" = None,
                 whole: Callable[[int, np.ndarray], None] | None = None) -> None:
        self.shape, self.dtype, self.init, self.whole = shape, dtype, init, whole
        if init is not None:
            init((0,), dtype)       # parameters against the dtype, now rather than in a callback

    def fill(self, seed: int) -> np.ndarray:
        out = _host_empty(self.shape, self.dtype)
        if self.whole is not None:
            self.whole(seed, out)
        else:
            self.init.pinned(seed)(out=out)
        return out

    def block(self, seed: int, index: tuple[slice, ...]) -> np.ndarray:
        box = blocks.as_box(self.shape, index)
        out = _host_empty(blocks.box_shape(box), self.dtype)
        return self.init.pinned(seed).block(self.shape, blocks.box_slices(box), out=out)


def _concrete_sharding(out_sharding: Any, name: str,
                       traced: bool = False) -> "jax.sharding.Sharding":
    """``out_sharding`` as a sharding; a PartitionSpec takes the mesh of
    ``jax.set_mesh`` (under ``jit``, ``traced``: the abstract mesh)."""
    if isinstance(out_sharding, jax.sharding.PartitionSpec):
        try:
            mesh = jax.sharding.get_abstract_mesh() if traced else jax.sharding.get_mesh()
        except ValueError:                  # get_mesh under jit: the abstract mesh
            mesh = jax.sharding.get_abstract_mesh()
        if mesh.empty:
            raise ValueError("Using PartitionSpec when you are not under a mesh context is not "
                             "allowed. Please pass a NamedSharding instance or enter into a mesh "
                             f"context via `jax.set_mesh`. Got {out_sharding}")
        return jax.sharding.NamedSharding(mesh, out_sharding)
    if isinstance(out_sharding, jax.sharding.Sharding):
        return out_sharding
    raise TypeError(f"{name}: out_sharding must be a jax.sharding.Sharding, a PartitionSpec or "
                    f"None, got {type(out_sharding).__name__}")


def _from_blocks(shape: tuple[int, ...], dtype: np.dtype, sharding: "jax.sharding.Sharding",
                 block: Callable[[tuple[slice, ...]], np.ndarray]) -> "jax.Array":
    """``jax.make_array_from_callback`` with each distinct addressable shard
    generated once (replicas share it)."""
    made: dict = {}

    def callback(index: tuple[slice, ...] | None) -> np.ndarray:
        index = tuple(index) if index is not None else ()
        box = blocks.as_box(shape, index)
        if box not in made:
            made[box] = block(blocks.box_slices(box))
        return made[box]

    try:
        return jax.make_array_from_callback(shape, sharding, callback, dtype=dtype)
    finally:
        made.clear()


def _shard_box(shape: tuple[int, ...], mesh: Any, spec: Any,
               coordinate: Sequence[int]) -> tuple[slice, ...]:
    """The part of ``shape`` the device at mesh ``coordinate`` holds under
    ``spec`` (even splits, mesh axes of a dimension major to minor)."""
    position = dict(zip(mesh.axis_names, coordinate))
    sizes = dict(zip(mesh.axis_names, mesh.axis_sizes))
    index = []
    for axis, n in enumerate(shape):
        entry = spec[axis] if axis < len(spec) else None
        names = () if entry is None else (entry,) if isinstance(entry, str) else tuple(entry)
        shard, count = 0, 1
        for axis_name in names:
            shard, count = shard * sizes[axis_name] + position[axis_name], count * sizes[axis_name]
        size = n // count
        index.append(slice(shard * size, (shard + 1) * size))
    return tuple(index)


def _traced_sharded(recipe: _Recipe, impl: str, data: "jax.Array",
                    sharding: "jax.sharding.NamedSharding") -> "jax.Array":
    """Under ``jit``: a ``shard_map`` whose body is one callback per shard,
    told its mesh coordinate by ``axis_index``, so every device's shard is
    generated alone, on its host."""
    mesh, spec = sharding.mesh, sharding.spec
    names = tuple(mesh.axis_names)
    local_shape = tuple(sharding.shard_shape(recipe.shape))

    def host(key_data: np.ndarray, *coordinate: np.ndarray) -> np.ndarray:
        index = _shard_box(recipe.shape, mesh, spec, [int(c) for c in coordinate])
        return recipe.block(_seed_of(impl, key_data), index)

    def body(key_data):
        coordinate = [jax.lax.axis_index(name) for name in names]
        return jax.pure_callback(host, jax.ShapeDtypeStruct(local_shape, recipe.dtype),
                                 key_data, *coordinate, vmap_method="sequential")

    return jax.shard_map(body, mesh=mesh, in_specs=jax.sharding.PartitionSpec(),
                         out_specs=spec, check_vma=False)(data)


def _generate(recipe: _Recipe, key: Any, name: str, out_sharding: Any = None) -> "jax.Array":
    impl, data, host = _key_parts(key, name)
    if out_sharding is not None:
        sharding = _concrete_sharding(out_sharding, name, traced=host is None)
        if recipe.whole is not None:
            raise NotImplementedError(f"{name} cannot generate shards: every value depends on "
                                      "the whole matrix")
        if host is not None:
            seed = _seed_of(impl, host)
            return _from_blocks(recipe.shape, recipe.dtype, sharding,
                                lambda index: recipe.block(seed, index))
        if isinstance(sharding, jax.sharding.NamedSharding):
            return _traced_sharded(recipe, impl, data, sharding)
        whole = _callback(recipe, impl, data)
        return jax.lax.with_sharding_constraint(whole, sharding)
    if host is not None:
        return _to_jax(recipe.fill(_seed_of(impl, host)))
    return _callback(recipe, impl, data)


def _callback(recipe: _Recipe, impl: str, data: "jax.Array") -> "jax.Array":
    def host(key_data: np.ndarray) -> np.ndarray:
        return recipe.fill(_seed_of(impl, key_data))
    return jax.pure_callback(host, jax.ShapeDtypeStruct(recipe.shape, recipe.dtype), data,
                             vmap_method="sequential")


def _zeros_recipe(shape: tuple[int, ...], dtype: np.dtype) -> _Recipe:
    return _Recipe(shape, dtype, varinit.Zeros())


# ---------------------------------------------------------------------------
# jax.nn.initializers
# ---------------------------------------------------------------------------

def zeros(key: Any, shape: Any, dtype: Any = None, out_sharding: OutSharding = None) -> "jax.Array":
    """An array of zeros, as ``jax.nn.initializers.zeros`` (``key`` is ignored).

    An initializer itself, not a factory: ``nn.Dense(bias_init=varinit.jax.zeros)``.
    The values are JAX's own (``jnp.zeros``).

    Parameters
    ----------
    key : jax.Array
        Ignored.
    shape : sequence of int
    dtype : dtype, optional
        Default ``jnp.float_`` (float32 unless x64 is enabled).
    out_sharding : NamedSharding or PartitionSpec, optional

    Returns
    -------
    jax.Array
    """
    return jnp.zeros(shape, _default_dtype(dtype), out_sharding=out_sharding)


def ones(key: Any, shape: Any, dtype: Any = None, out_sharding: OutSharding = None) -> "jax.Array":
    """An array of ones, as ``jax.nn.initializers.ones`` (``key`` is ignored).

    Parameters
    ----------
    key, shape, dtype, out_sharding
        As for :func:`zeros`.

    Returns
    -------
    jax.Array
    """
    return jnp.ones(shape, _default_dtype(dtype), out_sharding=out_sharding)


def constant(value: Any, dtype: Any = None) -> Initializer:
    """An initializer of arrays full of ``value``, as ``jax.nn.initializers.constant``.

    Parameters
    ----------
    value : array_like
        Broadcast to the shape (``jnp.full``).
    dtype : dtype, optional
        The initializer's default dtype.

    Returns
    -------
    callable
        ``init(key, shape, dtype=dtype, out_sharding=None)``; ``key`` is ignored.
    """
    def init(key: Any, shape: Any, dtype: Any = dtype,
             out_sharding: OutSharding = None) -> "jax.Array":
        if isinstance(out_sharding, jax.sharding.PartitionSpec):
            out_sharding = _concrete_sharding(out_sharding, "constant")
        return jnp.full(shape, value, dtype=_default_dtype(dtype), device=out_sharding)
    return init


def uniform(scale: Any = 1e-2, dtype: Any = None) -> Initializer:
    """``U[0, scale)``, as ``jax.nn.initializers.uniform``.

    Parameters
    ----------
    scale : float, optional
        Upper bound, default 0.01, rounded to the dtype as JAX does (a
        negative one gives ``U[scale, 0)``, JAX's values too).
    dtype : dtype, optional
        The initializer's default dtype (``jnp.float_`` if None).

    Returns
    -------
    callable
        ``init(key, shape, dtype=dtype, out_sharding=None) -> jax.Array``.

    Examples
    --------
    >>> import jax, varinit.jax as vj
    >>> w = vj.uniform(10.0)(jax.random.key(42), (2, 3))
    >>> bool(((w >= 0) & (w < 10)).all())
    True
    """
    def init(key: Any, shape: Any, dtype: Any = dtype,
             out_sharding: OutSharding = None) -> "jax.Array":
        dtype = _float_dtype(dtype, "uniform")
        shape = _shape(shape)
        s = _round(scale, dtype)
        if s == 0:
            recipe = _zeros_recipe(shape, dtype)
        else:
            recipe = _Recipe(shape, dtype,
                             varinit.RandomUniform(min(s, 0.0), max(s, 0.0), seed=0))
        return _generate(recipe, key, "uniform", out_sharding)
    return init


def normal(stddev: Any = 1e-2, dtype: Any = None) -> Initializer:
    """``N(0, stddev**2)``, as ``jax.nn.initializers.normal``.

    Parameters
    ----------
    stddev : float, optional
        Default 0.01, rounded to the dtype as JAX does; 0 gives zeros.
    dtype : dtype, optional
        The initializer's default dtype (``jnp.float_`` if None).

    Returns
    -------
    callable
        ``init(key, shape, dtype=dtype, out_sharding=None) -> jax.Array``.
    """
    def init(key: Any, shape: Any, dtype: Any = dtype,
             out_sharding: OutSharding = None) -> "jax.Array":
        dtype = _float_dtype(dtype, "normal", complex_ok=True)
        shape = _shape(shape)
        s = abs(_round(stddev, dtype))
        recipe = (_zeros_recipe(shape, dtype) if s == 0
                  else _Recipe(shape, dtype, varinit.RandomNormal(0.0, s, seed=0)))
        return _generate(recipe, key, "normal", out_sharding)
    return init


def _truncated(shape: tuple[int, ...], dtype: np.dtype, stddev: float, lower: float,
               upper: float) -> _Recipe:
    """``stddev * x`` with ``x`` a standard normal restricted to ``(lower, upper)``."""
    if stddev == 0:
        return _zeros_recipe(shape, dtype)
    if math.isinf(lower) and math.isinf(upper) and lower < upper:
        return _Recipe(shape, dtype, varinit.RandomNormal(0.0, abs(stddev), seed=0))
    low, high = lower * stddev, upper * stddev
    if stddev < 0:
        low, high = high, low
    return _Recipe(shape, dtype, varinit.TruncatedNormal(0.0, abs(stddev), seed=0, low=low,
                                                           high=high))


def truncated_normal(stddev: Any = 1e-2, dtype: Any = None, lower: Any = -2.0,
                     upper: Any = 2.0) -> Initializer:
    """Truncated normal, as ``jax.nn.initializers.truncated_normal``.

    ``stddev * x`` with ``x`` standard normal restricted to ``(lower,
    upper)``: values in ``(lower * stddev, upper * stddev)``, ``stddev``
    the std *before* truncation (no correction, as JAX).  Exact rejection
    sampling; every value is inside the bounds in every dtype.

    Parameters
    ----------
    stddev : float, optional
        Default 0.01, rounded to the dtype as JAX does.
    dtype : dtype, optional
        The initializer's default dtype (``jnp.float_`` if None).
    lower, upper : float, optional
        Bounds in units of ``stddev``, default ∓2 (scalars; one may be
        infinite; both infinite is the normal).

    Returns
    -------
    callable
        ``init(key, shape, dtype=dtype, out_sharding=None) -> jax.Array``.

    Raises
    ------
    ValueError
        At call time, for ``lower >= upper`` (JAX returns a constant).
    """
    def init(key: Any, shape: Any, dtype: Any = dtype,
             out_sharding: OutSharding = None) -> "jax.Array":
        dtype = _float_dtype(dtype, "truncated_normal")
        shape = _shape(shape)
        recipe = _truncated(shape, dtype, _round(stddev, dtype), _round(lower, dtype),
                            _round(upper, dtype))
        return _generate(recipe, key, "truncated_normal", out_sharding)
    return init


def _compute_fans(shape: tuple[int, ...], in_axis: Axes = -2, out_axis: Axes = -1,
                  batch_axis: Axes = ()) -> tuple[float, float]:
    """JAX's ``_compute_fans``, the same arithmetic (floats) and errors."""
    if isinstance(in_axis, int) and in_axis == -2 and len(shape) <= 1:
        raise ValueError(
            f"Can't compute input and output sizes of a {len(shape)}-dimensional"
            " weights tensor with default in_axis. Must be at least 2D or specify"
            " in_axis explicitly.")

    def size(axes: Axes) -> int:
        return shape[axes] if isinstance(axes, int) else math.prod([shape[i] for i in axes])

    in_size, out_size, batch_size = size(in_axis), size(out_axis), size(batch_axis)
    receptive_field_size = math.prod(shape) / in_size / out_size / batch_size
    return in_size * receptive_field_size, out_size * receptive_field_size


def variance_scaling(scale: Any, mode: str, distribution: str, in_axis: Axes = -2,
                     out_axis: Axes = -1, batch_axis: Axes = (),
                     dtype: Any = None) -> Initializer:
    """Scale-aware initializer, as ``jax.nn.initializers.variance_scaling``.

    With ``n`` the fan of ``mode`` (``"fan_in"``, ``"fan_out"``,
    ``"fan_avg"`` = (in + out)/2, ``"fan_geo_avg"`` = sqrt(in·out)) from
    JAX's fans (``in_axis``, ``out_axis``, ``batch_axis``; every other axis
    is receptive field) and ``v = scale / n`` rounded to the dtype:

    * ``"truncated_normal"``: ``s·x``, ``x`` standard normal on (-2, 2),
      ``s = sqrt(v) / 0.87962566103423978`` (sample std ``sqrt(v)``);
    * ``"normal"``: ``N(0, v)``, untruncated;
    * ``"uniform"``: ``U[-sqrt(3v), sqrt(3v))``.

    Parameters
    ----------
    scale : float
        Non-negative (0 gives zeros).
    mode, distribution : str
        As above; an unknown one is JAX's ``ValueError`` at call time.
    in_axis, out_axis, batch_axis : int or sequence of int, optional
        JAX's axes.
    dtype : dtype, optional
        The initializer's default dtype (``jnp.float_`` if None); real
        float dtypes only (JAX also takes complex ones).

    Returns
    -------
    callable
        ``init(key, shape, dtype=dtype, out_sharding=None) -> jax.Array``.

    Raises
    ------
    ValueError
        At call time: JAX's errors (mode, distribution, a rank < 2 shape
        with the default ``in_axis``, a non-float dtype), and a negative
        ``scale`` (JAX returns NaNs).
    """
    def init(key: Any, shape: Any, dtype: Any = dtype,
             out_sharding: OutSharding = None) -> "jax.Array":
        shape = _shape(shape)
        resolved = _canonical_dtype(dtype)
        fan_in, fan_out = _compute_fans(shape, in_axis, out_axis, batch_axis)
        if mode == "fan_in":
            denominator = fan_in
        elif mode == "fan_out":
            denominator = fan_out
        elif mode == "fan_avg":
            denominator = (fan_in + fan_out) / 2
        elif mode == "fan_geo_avg":
            denominator = (fan_in * fan_out) ** 0.5
        else:
            raise ValueError(f"invalid mode for variance scaling initializer: {mode}")
        function = {"truncated_normal": "truncated_normal", "normal": "normal",
                    "uniform": "uniform"}.get(distribution)
        if function is None:
            raise ValueError(f"invalid distribution for variance scaling initializer: "
                             f"{distribution}")
        resolved = _float_dtype(resolved, function, complex_ok=function == "normal")
        variance = _round(scale / denominator, resolved)
        if not variance >= 0:
            raise ValueError(f"variance_scaling needs scale >= 0, got scale={scale}")
        if distribution == "truncated_normal":
            stddev = _round(_round(math.sqrt(variance), resolved)
                            / _round(_TRUNCATED_STDDEV, resolved), resolved)
            recipe = _truncated(shape, resolved, stddev, -2.0, 2.0)
        elif distribution == "normal":
            stddev = _round(math.sqrt(variance), resolved)
            recipe = (_zeros_recipe(shape, resolved) if stddev == 0
                      else _Recipe(shape, resolved, varinit.RandomNormal(0.0, stddev, seed=0)))
        else:
            limit = _round(math.sqrt(_round(3 * variance, resolved)), resolved)
            recipe = (_zeros_recipe(shape, resolved) if limit == 0
                      else _Recipe(shape, resolved, varinit.RandomUniform(-limit, limit, seed=0)))
        return _generate(recipe, key, function, out_sharding)
    return init


def _preset(scale: float, mode: str, distribution: str, name: str, doc: str) -> Callable:
    def factory(in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (),
                dtype: Any = None) -> Initializer:
        return variance_scaling(scale, mode, distribution, in_axis=in_axis, out_axis=out_axis,
                                batch_axis=batch_axis, dtype=dtype)
    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = f"""{doc}, as ``jax.nn.initializers.{name}``.

    ``variance_scaling({scale}, "{mode}", "{distribution}", in_axis, out_axis,
    batch_axis, dtype)``.

    Parameters
    ----------
    in_axis, out_axis, batch_axis : int or sequence of int, optional
        JAX's fan axes (defaults -2, -1, ()).
    dtype : dtype, optional
        The initializer's default dtype.

    Returns
    -------
    callable
        ``init(key, shape, dtype=dtype, out_sharding=None) -> jax.Array``.
    """
    return factory


glorot_uniform = _preset(1.0, "fan_avg", "uniform", "glorot_uniform",
                         "Glorot (Xavier) uniform: U(±sqrt(6 / (fan_in + fan_out)))")
glorot_normal = _preset(1.0, "fan_avg", "truncated_normal", "glorot_normal",
                        "Glorot (Xavier) normal: truncated, std sqrt(2 / (fan_in + fan_out))")
lecun_uniform = _preset(1.0, "fan_in", "uniform", "lecun_uniform",
                        "LeCun uniform: U(±sqrt(3 / fan_in))")
lecun_normal = _preset(1.0, "fan_in", "truncated_normal", "lecun_normal",
                       "LeCun normal (flax's default kernel init): truncated, std sqrt(1 / fan_in)")
he_uniform = _preset(2.0, "fan_in", "uniform", "he_uniform",
                     "He (Kaiming) uniform: U(±sqrt(6 / fan_in))")
he_normal = _preset(2.0, "fan_in", "truncated_normal", "he_normal",
                    "He (Kaiming) normal: truncated, std sqrt(2 / fan_in)")
xavier_uniform = glorot_uniform
xavier_normal = glorot_normal
kaiming_uniform = he_uniform
kaiming_normal = he_normal


def _orthogonal_whole(shape: tuple[int, ...], dtype: np.dtype, scale: float,
                      column_axis: int) -> Callable[[int, np.ndarray], None]:
    """Fill of JAX's orthogonal layout: a ``(prod / shape[column_axis],
    shape[column_axis])`` matrix from :class:`varinit.Orthogonal`, reshaped
    and with its columns moved to ``column_axis``."""
    n_cols = shape[column_axis]
    n_rows = math.prod(shape) // n_cols
    gain = _round(scale, dtype)
    rest = tuple(np.delete(shape, column_axis)) + (n_cols,)
    varinit.Orthogonal(gain, seed=0)((1, 1), dtype)           # gain and dtype checked now

    def whole(seed: int, out: np.ndarray) -> None:
        q = varinit.Orthogonal(gain, seed=seed)((n_rows, n_cols), dtype)
        out[...] = np.moveaxis(q.reshape(rest), -1, column_axis)
    return whole


def orthogonal(scale: Any = 1.0, column_axis: int = -1, dtype: Any = None) -> Initializer:
    """Uniformly (Haar) distributed orthogonal matrices, as ``jax.nn.initializers.orthogonal``.

    The array is viewed as ``(prod(shape) / shape[column_axis],
    shape[column_axis])``; that matrix has orthonormal columns (or rows,
    if it is wide) times ``scale``, from :class:`varinit.Orthogonal` (QR
    of a varinit normal matrix with Mezzadri's sign fix).

    Parameters
    ----------
    scale : float, optional
        Multiplier, default 1.
    column_axis : int, optional
        The axis whose entries index the orthogonal columns, default -1.
    dtype : dtype, optional
        The initializer's default dtype; float16 and bfloat16 are computed
        in float32 (JAX's QR rejects them).

    Returns
    -------
    callable
        ``init(key, shape, dtype=dtype, out_sharding=None) -> jax.Array``.

    Raises
    ------
    ValueError
        For a shape of rank < 2 (JAX's message).
    NotImplementedError
        For ``out_sharding``, as JAX.
    """
    def init(key: Any, shape: Any, dtype: Any = dtype,
             out_sharding: OutSharding = None) -> "jax.Array":
        if out_sharding is not None:
            raise NotImplementedError("orthogonal cannot generate shards: every value depends "
                                      "on the whole matrix")
        dtype = _float_dtype(dtype, "normal", complex_ok=True)
        shape = _shape(shape)
        if len(shape) < 2:
            raise ValueError("orthogonal initializer requires at least a 2D shape")
        if any(dim == 0 for dim in shape):
            return jnp.zeros(shape, dtype=dtype)
        recipe = _Recipe(shape, dtype, whole=_orthogonal_whole(shape, dtype, scale, column_axis))
        return _generate(recipe, key, "orthogonal")
    return init


def delta_orthogonal(scale: Any = 1.0, column_axis: int = -1, dtype: Any = None) -> Initializer:
    """Delta-orthogonal convolution kernels, as ``jax.nn.initializers.delta_orthogonal``.

    Zeros except the centre tap ``((k - 1) // 2`` on each spatial axis),
    which is ``orthogonal(scale, column_axis)(key, shape[-2:])``: the same
    matrix that call returns for the same key.

    Parameters
    ----------
    scale, column_axis, dtype
        As for :func:`orthogonal`.

    Returns
    -------
    callable
        ``init(key, shape, dtype=dtype, out_sharding=None) -> jax.Array``.

    Raises
    ------
    ValueError
        Unless the shape is 3-, 4- or 5-D with ``shape[-1] >= shape[-2]``
        (JAX's messages).
    NotImplementedError
        For ``out_sharding``, as JAX.
    """
    def init(key: Any, shape: Any, dtype: Any = dtype,
             out_sharding: OutSharding = None) -> "jax.Array":
        if out_sharding is not None:
            raise NotImplementedError("delta_orthogonal cannot generate shards: every value "
                                      "depends on the whole matrix")
        dtype = _float_dtype(dtype, "normal", complex_ok=True)
        shape = _shape(shape)
        if len(shape) not in (3, 4, 5):
            raise ValueError("Delta orthogonal initializer requires a 3D, 4D or 5D shape.")
        if shape[-1] < shape[-2]:
            raise ValueError("`fan_in` must be less or equal than `fan_out`. ")
        matrix_shape = shape[-2:]
        centre = tuple((k - 1) // 2 for k in shape[:-2])
        ortho = (None if 0 in matrix_shape
                 else _orthogonal_whole(matrix_shape, dtype, scale, column_axis))

        def whole(seed: int, out: np.ndarray) -> None:
            out[...] = 0
            if ortho is not None:
                ortho(seed, out[centre])
        return _generate(_Recipe(shape, dtype, whole=whole), key, "delta_orthogonal")
    return init


# ---------------------------------------------------------------------------
# Sharded arrays from any varinit initializer
# ---------------------------------------------------------------------------

def sharded(init: "varinit.Initializer", shape: Sequence[int],
            sharding: "jax.sharding.Sharding", dtype: Any = None) -> "jax.Array":
    """A sharded ``jax.Array`` equal to ``init(shape, dtype)``, each shard generated alone.

    Built with ``jax.make_array_from_callback``: every addressable shard (in
    every process of a multi-process run) is generated by
    ``init.pinned().block(shape, index, dtype)``, so nothing larger than a
    shard is ever made, there is no communication, and the global array is
    bit-identical to the unsharded one for any sharding (rows, columns, 2-D
    meshes, replicas: a replicated shard is generated once per process).

    Parameters
    ----------
    init : varinit.Initializer
        With an explicit seed (the same in every process).
    shape : sequence of int
        The global shape.
    sharding : jax.sharding.Sharding
        E.g. ``NamedSharding(mesh, PartitionSpec("x", None))``; a
        ``PartitionSpec`` uses the mesh of ``jax.set_mesh``.
    dtype : dtype, optional
        Default ``jnp.float_`` (float32 unless x64 is enabled).

    Returns
    -------
    jax.Array

    Raises
    ------
    TypeError
        If ``init`` is not a varinit initializer.
    ValueError
        If ``init`` is unseeded (every process would draw another seed).

    Examples
    --------
    >>> import jax, numpy as np, varinit, varinit.jax as vj
    >>> mesh = jax.make_mesh((1,), ("x",))
    >>> sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("x"))
    >>> init = varinit.RandomNormal(stddev=0.01, seed=7)
    >>> table = vj.sharded(init, (1000, 64), sharding)
    >>> bool(np.array_equal(np.asarray(table), init((1000, 64))))
    True
    """
    blocks.check_blockwise(init)
    if init.get_config().get("seed", 0) is None:
        raise ValueError("sharded needs an initializer with a seed: an unseeded one draws a "
                         "different seed in every process, so the shards would not fit together")
    shape = blocks.as_shape(shape)
    dtype = _canonical_dtype(dtype)
    sharding = _concrete_sharding(sharding, "sharded")
    pinned = init.pinned()

    def block(index: tuple[slice, ...]) -> np.ndarray:
        box = blocks.as_box(shape, index)
        out = _host_empty(blocks.box_shape(box), dtype)
        return pinned.block(shape, index, dtype, out=out)

    return _from_blocks(shape, dtype, sharding, block)
