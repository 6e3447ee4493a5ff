"""varinit.dask.from_initializer: equal to init(shape) for any chunking, any scheduler."""
from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest

import varinit

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
import dask  # noqa: E402

from varinit import dask as vdask  # noqa: E402

TIMEOUT = 120  # seconds, for anything that waits on the cluster


def raw(a):
    return np.ascontiguousarray(a).reshape(-1).view(np.uint8)


CHUNKINGS = ["auto", (64, 37), (100, 5), 17, {0: 250, 1: -1}, ((1, 99, 400, 500), (30, 7))]


@pytest.mark.parametrize("chunks", CHUNKINGS, ids=str)
@pytest.mark.parametrize("init", [varinit.GlorotUniform(seed=3), varinit.TruncatedNormal(seed=4),
                                  varinit.TruncatedNormal(0.0, 1.0, 4, low=0.5, high=0.6),
                                  varinit.TruncatedNormal(0.0, 1.0, 4, low=-float("inf"), high=-3.0),
                                  varinit.Constant(2.0)], ids=lambda i: repr(i.get_config()))
def test_threaded_equals_full(init, chunks):
    shape = (1000, 37)
    x = vdask.from_initializer(init, shape, chunks)
    assert isinstance(x, da.Array) and x.shape == shape and x.dtype == np.float32
    got = x.compute(scheduler="threads")
    assert np.array_equal(raw(got), raw(init(shape)))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float64"])
def test_dtypes_and_rank3(dtype):
    init = varinit.HeUniform(seed=8)
    shape = (6, 50, 11)
    x = vdask.from_initializer(init, shape, chunks=(4, 13, 5), dtype=dtype)
    assert x.dtype == init(shape, dtype).dtype
    assert np.array_equal(raw(x.compute(scheduler="threads")), raw(init(shape, dtype)))
    assert np.array_equal(raw(x[2:5, 7:40, 3:9].compute(scheduler="sync")),
                          raw(init(shape, dtype)[2:5, 7:40, 3:9]))


def test_edge_shapes():
    init = varinit.GlorotUniform(seed=1)
    assert np.array_equal(vdask.from_initializer(init, ()).compute(), init(()))
    assert vdask.from_initializer(init, (0, 5)).compute().shape == (0, 5)
    assert np.array_equal(vdask.from_initializer(init, 100, 7).compute(), init((100,)))


def test_names_are_deterministic_and_distinct():
    a = vdask.from_initializer(varinit.GlorotUniform(seed=1), (100, 10), 10)
    b = vdask.from_initializer(varinit.GlorotUniform(seed=1), (100, 10), 10)
    c = vdask.from_initializer(varinit.GlorotUniform(seed=2), (100, 10), 10)
    d = vdask.from_initializer(varinit.GlorotUniform(seed=1), (100, 10), 10, dtype="float64")
    assert a.name == b.name
    assert len({a.name, c.name, d.name}) == 3


class Custom(varinit.RandomUniform):
    """Not registered under its name: travels in the graph as an object."""


def test_object_path_pins_the_seed_when_the_array_is_made():
    gen = varinit.SeedGenerator(5)
    x = vdask.from_initializer(Custom(seed=gen), (300, 9), 40)
    gen.next()
    gen.next()
    got = x.compute(scheduler="threads")
    assert np.array_equal(raw(got), raw(varinit.RandomUniform(seed=gen.fill_seed(0))((300, 9))))


def test_object_names_never_collide():
    # Two initializers at the same address (the first collected before the
    # second is made) must not give the same task names.
    names, addresses = set(), set()
    for seed in range(20):
        init = Custom(seed=seed)
        addresses.add(id(init))
        names.add(vdask.from_initializer(init, (100, 10), 10).name)
        del init
    assert len(addresses) < 20                   # the interpreter did reuse addresses
    assert len(names) == 20


def test_unexpected_config_errors_propagate():
    class Broken(varinit.GlorotUniform):
        def get_config(self):
            raise RuntimeError("bug in get_config")

    with pytest.raises(RuntimeError, match="bug in get_config"):
        vdask.from_initializer(Broken(seed=1), (10, 10), 5)


def test_one_varinit_thread_per_task(monkeypatch):
    seen = []
    init = varinit.GlorotUniform(seed=1)
    real = type(init).block

    def spy(self, shape, index, dtype=None, out=None):
        seen.append(varinit.get_num_threads())
        return real(self, shape, index, dtype, out)

    monkeypatch.setattr(type(init), "block", spy)
    with varinit.num_threads(2):
        vdask.from_initializer(init, (400, 8), 50).compute(scheduler="threads")
    assert seen and set(seen) == {1}


def test_bad_input():
    with pytest.raises(TypeError, match="initializer"):
        vdask.from_initializer(np.zeros, (3,))
    with pytest.raises(ValueError, match="negative"):
        vdask.from_initializer(varinit.Zeros(), (3, -1))
    with pytest.raises(TypeError, match="int8"):
        vdask.from_initializer(varinit.GlorotUniform(seed=0), (3, 3), dtype="int8")
    with pytest.raises(ValueError, match="byte order"):
        vdask.from_initializer(varinit.Zeros(), (3,), dtype=np.dtype(np.float32).newbyteorder())
    with pytest.raises(NotImplementedError):
        vdask.from_initializer(varinit.Orthogonal(seed=0), (4, 4))


def test_importing_varinit_does_not_import_dask():
    code = "import sys, varinit; print('dask' in sys.modules, 'distributed' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["False", "False"], out.stderr


# ---------------------------------------------------------------------------
# dask.distributed
# ---------------------------------------------------------------------------

WORKER_MEMORY = 256 << 20


@pytest.fixture(scope="module")
def client():
    with dask.config.set({"distributed.comm.timeouts.connect": "60s",
                          "distributed.comm.timeouts.tcp": "60s"}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                           dashboard_address=None, memory_limit=WORKER_MEMORY,
                                           processes=True)
        try:
            with distributed.Client(cluster, timeout=TIMEOUT) as c:
                c.wait_for_workers(2, timeout=TIMEOUT)
                yield c
        finally:
            cluster.close(timeout=TIMEOUT)


@pytest.mark.parametrize("chunks", [(64, 37), (1000, 5), (333, 12)], ids=str)
def test_local_cluster_equals_full(client, chunks):
    init = varinit.LecunNormal(seed=12)
    shape = (1000, 37)
    x = vdask.from_initializer(init, shape, chunks)
    got = client.compute(x).result(timeout=TIMEOUT)
    assert np.array_equal(raw(got), raw(init(shape)))


def test_local_cluster_seed_generator_and_unseeded(client):
    gen = varinit.SeedGenerator(5)
    seeded = varinit.RandomUniform(seed=gen)
    unseeded = varinit.GlorotNormal()
    for init in (seeded, unseeded):
        x = vdask.from_initializer(init, (300, 9), 40)
        got = client.compute(x).result(timeout=TIMEOUT)
        assert np.array_equal(raw(got), raw(init.block((300, 9), ())))
    assert gen.calls == 0


@pytest.mark.slow
def test_to_zarr_larger_than_worker_memory(client, tmp_path):
    zarr = pytest.importorskip("zarr")
    init = varinit.GlorotUniform(seed=1)
    shape = (3 << 16, 1024)                       # 768 MiB: 3x a worker's memory_limit
    x = vdask.from_initializer(init, shape, chunks=(1 << 11, 1024))   # 8 MiB chunks
    assert x.nbytes > 2 * WORKER_MEMORY
    before = set(client.scheduler_info()["workers"])
    x.to_zarr(str(tmp_path / "t.zarr"), compute=True)
    assert set(client.scheduler_info()["workers"]) == before      # no worker was restarted
    z = zarr.open_array(str(tmp_path / "t.zarr"), mode="r")
    assert z.shape == shape
    try:
        rows = [0, 2047, 2048, 100_000, shape[0] - 1]
        for r in rows:
            assert np.array_equal(raw(z[r]), raw(init.block(shape, (slice(r, r + 1),))[0])), r
    finally:
        shutil.rmtree(tmp_path / "t.zarr", ignore_errors=True)   # pytest keeps old temp folders
