"""The public block protocol: a custom initializer written outside the package,
implementing only ``fill_block``, works with everything blockwise."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import varinit
from varinit import _boxes
from varinit.blocks import box_runs, box_slices

SHAPE = (300, 7, 5)


class Ramp(varinit.Initializer):
    """Element at flat index i is ``start + i * step``: any misplaced box shows."""

    def __init__(self, start: float = 0.0, step: float = 1.0) -> None:
        self.start, self.step = start, step

    def fill_block(self, out, box, shape, seed):
        flat = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
        out[...] = (self.start + self.step * flat[box_slices(box)]).astype(out.dtype)

    def get_config(self):
        return {"start": self.start, "step": self.step}


class ScaledUniform(varinit.RandomInitializer):
    """U[-s, s) with s = scale / sqrt(shape[-1]): the docs' worked example."""

    def __init__(self, scale: float = 1.0, seed=None) -> None:
        self.scale = scale
        super().__init__(seed=seed)

    def fill_block(self, out, box, shape, seed):
        limit = self.scale / np.sqrt(shape[-1])
        length, offsets = box_runs(shape, box)
        flat = out.reshape(-1)
        for r, offset in enumerate(offsets.tolist()):
            varinit.fill_uniform(flat[r * length:(r + 1) * length], -limit, limit,
                                 seed=seed, offset=offset)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


CUSTOM = [Ramp(1.0, 0.5), ScaledUniform(2.0, seed=11),
          ScaledUniform(0.5, seed=varinit.SeedGenerator(5))]
IDS = ["Ramp", "ScaledUniform(int seed)", "ScaledUniform(SeedGenerator)"]


def test_scaled_uniform_is_its_fill_call():
    got = ScaledUniform(2.0, seed=11)(SHAPE)
    limit = 2.0 / np.sqrt(SHAPE[-1])
    np.testing.assert_array_equal(
        got, varinit.fill_uniform(np.empty(SHAPE, np.float32), -limit, limit, seed=11))


@pytest.mark.parametrize("init", CUSTOM, ids=IDS)
def test_block_and_rows_equal_the_full_tensor(init):
    full = init.pinned()(SHAPE)
    rng = np.random.default_rng(1)
    for _ in range(20):
        index = []
        for n in SHAPE:
            a = int(rng.integers(0, n))
            index.append(slice(a, int(rng.integers(a, n + 1))))
        np.testing.assert_array_equal(init.block(SHAPE, tuple(index)), full[tuple(index)])
    ids = np.array([[5, 3, 299], [3, 3, -1]])
    np.testing.assert_array_equal(init.rows(SHAPE, ids), full[ids])
    np.testing.assert_array_equal(init.rows(SHAPE, []), full[[]])
    np.testing.assert_array_equal(init.rows(SHAPE, np.arange(40, 80)), full[40:80])


@pytest.mark.parametrize("suffix", [".npy", ".safetensors"])
@pytest.mark.parametrize("init", CUSTOM, ids=IDS)
def test_save_streams_a_custom_initializer(tmp_path, init, suffix):
    full = init.pinned()(SHAPE)
    path = tmp_path / f"table{suffix}"
    varinit.save(path, init, SHAPE)
    if suffix == ".npy":
        got = np.load(path)
    else:
        from safetensors.numpy import load_file
        got = load_file(path)["weight"]
    np.testing.assert_array_equal(got, full)


@pytest.mark.parametrize("init", CUSTOM, ids=IDS)
def test_memmap_out_goes_through_the_protocol(tmp_path, init, monkeypatch):
    monkeypatch.setattr(_boxes, "MAPPED_THRESHOLD", 0)
    monkeypatch.setattr(_boxes, "MAPPED_WINDOW", 4096)       # many windows
    calls = []
    original = type(init).fill_block

    def counting(self, out, box, shape, seed):
        calls.append(box)
        return original(self, out, box, shape, seed)

    monkeypatch.setattr(type(init), "fill_block", counting)
    expected = init.pinned()(SHAPE)
    calls.clear()
    mapped = np.memmap(tmp_path / "m.bin", dtype=np.float32, mode="w+", shape=SHAPE)
    assert init(out=mapped) is mapped
    np.testing.assert_array_equal(np.asarray(mapped), expected)
    assert len(calls) > 10           # window by window (plus the one-element probe)


@pytest.mark.parametrize("chunks", [(300, 7, 5), (64, 3, 5), (1, 7, 2), "auto"])
@pytest.mark.parametrize("init", CUSTOM, ids=IDS)
def test_dask_array_of_a_custom_initializer(init, chunks):
    pytest.importorskip("dask.array")
    import varinit.dask
    array = varinit.dask.from_initializer(init, SHAPE, chunks=chunks)
    np.testing.assert_array_equal(array.compute(scheduler="threads"), init.pinned()(SHAPE))


def test_pinned_seed_is_read_once():
    generator = varinit.SeedGenerator(3)
    init = ScaledUniform(seed=generator)
    pinned = init.pinned()
    first = pinned(SHAPE)
    init(SHAPE)                                  # advances the shared generator
    np.testing.assert_array_equal(pinned(SHAPE), first)
    np.testing.assert_array_equal(pinned.block(SHAPE, (slice(10, 20),)), first[10:20])
    assert pinned.fill_seed() == generator.fill_seed(0) != init.fill_seed()
    assert pinned.get_config()["seed"] == generator.fill_seed(0)
    assert Ramp().pinned() is not None and Ramp().fill_seed() == 0


def test_pinned_validates_its_seed():
    with pytest.raises(TypeError):
        ScaledUniform(seed=1).pinned("7")
    with pytest.raises(ValueError):
        ScaledUniform(seed=1).pinned(-1)


def test_consumers_refuse_objects_outside_the_protocol(tmp_path):
    class Lookalike:
        def block(self, shape, index, dtype=None, out=None):
            return np.zeros(1, np.float32)

    with pytest.raises(TypeError, match="varinit.Initializer"):
        varinit.save(tmp_path / "x.npy", Lookalike(), (4,))
    assert not (tmp_path / "x.npy").exists()


def test_fill_block_runs_in_threads_with_the_same_result():
    init = ScaledUniform(seed=2)
    full = init(SHAPE)
    parts = [None] * 6
    bounds = np.linspace(0, SHAPE[0], 7).astype(int)

    def work(k):
        parts[k] = init.block(SHAPE, (slice(bounds[k], bounds[k + 1]),))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    np.testing.assert_array_equal(np.concatenate(parts), full)
