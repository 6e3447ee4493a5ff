"""Seeds for initializers: Keras 3 semantics mapped onto varinit fill seeds.

An initializer never draws random numbers itself; it resolves its ``seed``
argument once, at construction, to a *seed source* that tells each call which
fill seed (a 64-bit stream seed of :func:`varinit.fill_uniform` & co.) to use:

* an int ``s`` -> every call fills with seed ``s``;
* ``None`` -> ``random.randint(1, 10**9)`` is drawn once, from Python's global
  :mod:`random` state (as Keras does), then as an int;
* a :class:`SeedGenerator` -> call ``k`` (counting from 0) fills with
  :meth:`SeedGenerator.fill_seed` ``(k)``, so calls differ;
* a :class:`numpy.random.Generator` -> one 64-bit int is drawn from it at
  construction, then as an int.
"""
from __future__ import annotations

import hashlib
import itertools
import random
import threading
from typing import Any, Union

import numpy as np

from ._validate import KerasSeedTypeError, integer, u64

__all__ = ["SeedGenerator", "derive_seed", "SeedLike", "resolve_seed", "seed_config"]

_MASK64 = (1 << 64) - 1
_names = itertools.count()

SeedLike = Union[int, None, "SeedGenerator", np.random.Generator, dict]


def _fmix64(k: int) -> int:
    """MurmurHash3's 64-bit finalizer: a bijection of [0, 2**64) with 0 -> 0."""
    k &= _MASK64
    k ^= k >> 33
    k = (k * 0xFF51AFD7ED558CCD) & _MASK64
    k ^= k >> 33
    k = (k * 0xC4CEB9FE1A85EC53) & _MASK64
    k ^= k >> 33
    return k


def default_seed() -> int:
    """The seed an unseeded initializer draws: ``random.randint(1, 10**9)``.

    It comes from Python's global :mod:`random` state, exactly as in Keras 3,
    so ``random.seed(n)`` makes unseeded code reproducible.
    """
    return random.randint(1, 10**9)


class SeedGenerator:
    """A seed that gives a different, reproducible fill seed on every call.

    Pass it as an initializer's ``seed`` to get new values on each call, as
    ``keras.random.SeedGenerator`` does.

    Parameters
    ----------
    seed : int, optional
        Root seed in ``[0, 2**64)``.  ``None`` draws
        ``random.randint(1, 10**9)`` from Python's :mod:`random` module.
    name : str, optional
        Kept for Keras config compatibility; defaults to a unique
        ``"seed_generator_<n>"``.

    Attributes
    ----------
    seed : int
        The resolved root seed.
    calls : int
        How many fill seeds :meth:`next` has handed out.

    Notes
    -----
    Call ``k`` (counting from 0) uses the fill seed
    ``seed ^ fmix64(k)``, where ``fmix64`` is MurmurHash3's 64-bit finalizer
    (``k ^= k >> 33; k *= 0xff51afd7ed558ccd; k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53; k ^= k >> 33``, modulo 2**64).  Since
    ``fmix64(0) == 0``, the first call equals an int seed ``seed``, as in
    Keras, where ``SeedGenerator(s)`` first gives the state ``[s, 0]`` of the
    int seed ``s``.  Thread-safe; a pickled copy continues from the same
    call counter, independently of the original.

    Examples
    --------
    >>> import varinit
    >>> g = varinit.SeedGenerator(7)
    >>> g.next() == 7, g.next() != 7
    (True, True)
    """

    def __init__(self, seed: int | None = None, name: str | None = None) -> None:
        self._initial_seed = seed
        if seed is None:
            seed = default_seed()
        else:
            self._initial_seed = seed = u64(seed, "SeedGenerator seed",
                                            type_error=KerasSeedTypeError)
        if name is None:
            name = f"seed_generator_{next(_names)}"
        elif not isinstance(name, str):
            raise TypeError(f"name must be a string, got {type(name).__name__}")
        self.seed: int = seed
        self.name: str = name
        self.calls: int = 0
        self._lock = threading.Lock()

    def fill_seed(self, k: int) -> int:
        """The fill seed of call number ``k`` (0-based): ``seed ^ fmix64(k)``.

        Parameters
        ----------
        k : int
            Non-negative call number.

        Returns
        -------
        int
            A seed in ``[0, 2**64)``.
        """
        return self.seed ^ _fmix64(integer(k, "call number", low=0))

    def peek(self) -> int:
        """The fill seed the next :meth:`next` will return, without advancing.

        Returns
        -------
        int
        """
        with self._lock:
            return self.fill_seed(self.calls)

    def next(self) -> int:
        """Return the current call's fill seed and advance to the next call.

        Returns
        -------
        int
        """
        with self._lock:
            k = self.calls
            self.calls += 1
        return self.fill_seed(k)

    def get_config(self) -> dict:
        """Keras's config: ``{"seed": <seed as given>, "name": name}``.

        Returns
        -------
        dict
            The seed as passed to the constructor (``None`` stays ``None``);
            the call counter is not part of the config.
        """
        return {"seed": self._initial_seed, "name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> "SeedGenerator":
        """Build a generator from :meth:`get_config` (or Keras's) output.

        Parameters
        ----------
        config : dict

        Returns
        -------
        SeedGenerator
            A fresh generator (call counter 0).
        """
        return cls(**config)

    def __getstate__(self) -> dict:
        # The lock cannot be pickled; a copy gets its own, and the counter.
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SeedGenerator(seed={self.seed}, name={self.name!r}, calls={self.calls})"


class FixedSeed:
    """Seed source of an int (or drawn) seed: the same fill seed every call."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def peek(self) -> int:
        return self.seed

    def next(self) -> int:
        return self.seed


def derive_seed(root: int, name: str) -> int:
    """A stable, named sub-seed of ``root``.

    Give each table or layer its own sub-seed, so that adding a table does
    not shift the values of the others.

    Parameters
    ----------
    root : int
        Root seed in ``[0, 2**64)``.
    name : str
        Any string; hashed as UTF-8.

    Returns
    -------
    int
        ``int.from_bytes(blake2b(root.to_bytes(8, "little") + name.encode("utf-8"),
        digest_size=8, person=b"varinit.derive").digest(), "little")``, in
        ``[0, 2**64)``.  Fixed forever: it never uses Python's salted
        ``hash()``.

    Raises
    ------
    TypeError
        If ``root`` is not an integer or ``name`` is not a string.
    ValueError
        If ``root`` is outside ``[0, 2**64)``.

    Examples
    --------
    >>> import varinit
    >>> varinit.derive_seed(0, "embedding") == varinit.derive_seed(0, "embedding")
    True
    """
    root = u64(root, "root")
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {type(name).__name__}")
    digest = hashlib.blake2b(root.to_bytes(8, "little") + name.encode("utf-8"),
                             digest_size=8, person=b"varinit.derive").digest()
    return int.from_bytes(digest, "little")


_SEED_GENERATOR_CLASS_NAMES = ("SeedGenerator",)


def resolve_seed(seed: Any) -> tuple[FixedSeed | SeedGenerator, Any]:
    """Resolve an initializer's ``seed`` argument.

    Returns
    -------
    (source, config_seed)
        ``source`` has ``peek()``/``next()`` giving fill seeds;
        ``config_seed`` is what ``get_config`` reports: the int as given,
        ``None`` for ``None``, the generator for a :class:`SeedGenerator`,
        and the drawn int for a numpy Generator.
    """
    if seed is None:
        return FixedSeed(default_seed()), None
    if isinstance(seed, SeedGenerator):
        return seed, seed
    if isinstance(seed, dict):
        generator = seed_from_config(seed)
        return generator, generator
    if isinstance(seed, np.random.Generator):
        drawn = int(seed.integers(0, 1 << 64, dtype=np.uint64))
        return FixedSeed(drawn), drawn
    value = u64(seed, "seed", type_error=KerasSeedTypeError)
    return FixedSeed(value), value


def seed_from_config(config: dict) -> SeedGenerator:
    """Rebuild a :class:`SeedGenerator` from its serialized (Keras) form."""
    class_name = config.get("class_name")
    if class_name not in _SEED_GENERATOR_CLASS_NAMES:
        raise ValueError(f"a dict seed must be a serialized SeedGenerator, got {config!r}")
    return SeedGenerator.from_config(dict(config.get("config", {})))


def seed_config(config_seed: Any) -> Any:
    """Serialize a ``config_seed`` of :func:`resolve_seed` as Keras does."""
    if isinstance(config_seed, SeedGenerator):
        return {"module": "keras.random", "class_name": "SeedGenerator",
                "config": config_seed.get_config(), "registered_name": None}
    return config_seed
