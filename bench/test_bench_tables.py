"""Huge tables: streaming a 2**31-element float32 ``.npy`` (8 GiB) against writing
the same number of zero bytes with the same write size, and ``rows()`` on a
10**8-row table.  Benchmarks, not tests: nothing here asserts a speed.

Run with::

    python -m pytest bench/test_bench_tables.py -s

Method
------
* ``zeros``: one thread ``os.pwrite``-s a zero buffer of the write size
  ``varinit.save`` uses (its per-thread window) over the whole file, then
  ``fsync``.  This is the disk's speed for this file with this write size.
* ``save``: ``varinit.save(path, GlorotUniform(seed=0), (2**31,))``, which
  generates and writes the same bytes (plus a 128-byte header and the JSON
  sidecar) and ends in ``fsync`` too.
* Each is one round (the file is deleted before each); the zero write runs
  first.  ``save/zeros`` = zeros time / save time, reported in
  ``extra_info["fraction_of_zero_write"]`` (target: at least 0.5).
* Sizes: ``VARINIT_BENCH_TABLE_ELEMS`` (default ``2**31``); folder:
  ``VARINIT_BENCH_DIR`` (default pytest's temporary folder).  Skipped with
  a message when the disk has too little free space.
* ``rows``: ``init.rows((10**8, 128), ids)`` for 10**4 random ids (uniform,
  with repeats possible), beside ``init.block`` of 10**4 consecutive rows.
"""
from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

import varinit
from varinit import benchmarks, io

pytest.importorskip("pytest_benchmark")



ELEMS = benchmarks.parse_size(os.environ.get("VARINIT_BENCH_TABLE_ELEMS", "2**31"))
NBYTES = ELEMS * 4
RESULTS: dict[str, float] = {}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = os.environ.get("VARINIT_BENCH_DIR") or str(tmp_path_factory.mktemp("tables"))
    free = shutil.disk_usage(path).free
    if free < NBYTES + (1 << 30):
        pytest.skip(f"needs {(NBYTES + (1 << 30)) / 2**30:.1f} GiB free in {path}, "
                    f"has {free / 2**30:.1f} GiB (set VARINIT_BENCH_DIR or "
                    "VARINIT_BENCH_TABLE_ELEMS)")
    return path


def _remove(*paths: str) -> None:
    for p in paths:
        if os.path.exists(p):
            os.unlink(p)


def _write_zeros(path: str, write_size: int) -> None:
    buf = np.zeros(write_size, np.uint8)
    view = memoryview(buf)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.ftruncate(fd, NBYTES)
        offset = 0
        while offset < NBYTES:
            n = min(write_size, NBYTES - offset)
            offset += os.pwrite(fd, view[:n], offset)
        os.fsync(fd)
    finally:
        os.close(fd)


def test_zero_write(benchmark, folder):
    path = os.path.join(folder, "zeros.bin")
    workers, window = io.plan_workers(buffers_per_worker=1)
    _remove(path)
    benchmark.group = "table-8GiB"
    benchmark.pedantic(_write_zeros, args=(path, window), setup=lambda: _remove(path),
                       rounds=1, iterations=1)
    _remove(path)
    if benchmark.disabled:          # --benchmark-disable: ran once, nothing to record
        return
    seconds = benchmark.stats.stats.min
    RESULTS["zeros"] = seconds
    benchmark.extra_info.update(bytes=NBYTES, write_size=window, GBps=NBYTES / seconds / 1e9)
    print(f"\nzeros: {NBYTES / 2**30:.1f} GiB in {seconds:.2f} s "
          f"({NBYTES / seconds / 1e9:.2f} GB/s), write size {window >> 20} MiB")


def test_save_npy(benchmark, folder):
    path = os.path.join(folder, "table.npy")
    init = varinit.GlorotUniform(seed=0)
    workers, window = io.plan_workers(buffers_per_worker=1)

    def clean() -> None:
        _remove(path, io.sidecar_path(path))

    benchmark.group = "table-8GiB"
    benchmark.pedantic(varinit.save, args=(path, init, (ELEMS,)), setup=clean,
                       rounds=1, iterations=1)
    clean()
    if benchmark.disabled:          # --benchmark-disable: ran once, nothing to record
        return
    seconds = benchmark.stats.stats.min
    info = {"bytes": NBYTES, "workers": workers, "write_size": window,
            "GBps": NBYTES / seconds / 1e9}
    if "zeros" in RESULTS:
        info["fraction_of_zero_write"] = RESULTS["zeros"] / seconds
    benchmark.extra_info.update(info)
    print(f"\nsave: {NBYTES / 2**30:.1f} GiB in {seconds:.2f} s ({info['GBps']:.2f} GB/s), "
          f"{workers} workers; fraction of the zero write: "
          f"{info.get('fraction_of_zero_write', float('nan')):.2f}")


ROWS_SHAPE = (10**8, 128)


@pytest.fixture(scope="module")
def row_ids():
    return np.random.default_rng(0).integers(0, ROWS_SHAPE[0], 10**4)


def test_rows_random(benchmark, row_ids):
    init = varinit.GlorotUniform(seed=0)
    if not hasattr(init, "rows"):
        pytest.skip("this varinit has no Initializer.rows")
    benchmark.group = "rows-1e4-of-1e8"
    out = benchmark(init.rows, ROWS_SHAPE, row_ids)
    assert out.shape == (10**4, 128)
    if benchmark.disabled:          # --benchmark-disable: ran once, nothing to record
        return
    benchmark.extra_info.update(rows=len(row_ids), per_row_us=benchmark.stats.stats.min
                                / len(row_ids) * 1e6)


def test_block_consecutive(benchmark):
    init = varinit.GlorotUniform(seed=0)
    benchmark.group = "rows-1e4-of-1e8"
    start = ROWS_SHAPE[0] // 2
    out = benchmark(init.block, ROWS_SHAPE, (slice(start, start + 10**4),))
    assert out.shape == (10**4, 128)


def _ram_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return 16 << 30


def test_dask_to_zarr_larger_than_ram(benchmark, tmp_path_factory):
    """``from_initializer(...).to_zarr`` (uncompressed) of a table 1.25x the machine's RAM
    on a ``LocalCluster`` whose workers have a 1 GiB ``memory_limit``; rows are spot-checked
    against ``init.block``.  ``VARINIT_BENCH_ZARR_BYTES`` overrides the size."""
    zarr = pytest.importorskip("zarr")
    distributed = pytest.importorskip("distributed")
    import varinit.dask as vdask

    nbytes = benchmarks.parse_size(os.environ.get("VARINIT_BENCH_ZARR_BYTES",
                                                  str(_ram_bytes() * 5 // 4)))
    folder = os.environ.get("VARINIT_BENCH_DIR") or str(tmp_path_factory.mktemp("zarr"))
    free = shutil.disk_usage(folder).free
    if free < nbytes + (2 << 30):
        pytest.skip(f"needs {(nbytes + (2 << 30)) / 2**30:.1f} GiB free in {folder}, has "
                    f"{free / 2**30:.1f} GiB (set VARINIT_BENCH_DIR or VARINIT_BENCH_ZARR_BYTES)")
    cols = 128
    rows = nbytes // (4 * cols)
    shape = (rows, cols)
    init = varinit.GlorotUniform(seed=0)
    x = vdask.from_initializer(init, shape, chunks=(1 << 15, cols))       # 16 MiB chunks
    path = os.path.join(folder, "table.zarr")
    with distributed.LocalCluster(n_workers=os.cpu_count() or 2, threads_per_worker=1,
                                  dashboard_address=None, memory_limit="1GiB") as cluster, \
            distributed.Client(cluster, timeout=120) as client:
        before = set(client.scheduler_info()["workers"])

        # Uncompressed: random floats do not compress, and the codec would
        # only add CPU time that is not varinit's.
        codec = ({"compressors": None} if int(zarr.__version__.split(".")[0]) >= 3
                 else {"compressor": None})

        def write() -> None:
            x.to_zarr(path, overwrite=True, **codec)

        benchmark.group = "dask-to-zarr"
        benchmark.pedantic(write, rounds=1, iterations=1)
        assert set(client.scheduler_info()["workers"]) == before      # no worker restarted
    z = zarr.open_array(path, mode="r")
    for r in (0, rows // 3, rows - 1):
        assert np.array_equal(z[r], init.block(shape, (slice(r, r + 1),))[0])
    if benchmark.disabled:          # --benchmark-disable: ran once, nothing to record
        return
    seconds = benchmark.stats.stats.min
    benchmark.extra_info.update(bytes=rows * cols * 4, ram=_ram_bytes(),
                                GBps=rows * cols * 4 / seconds / 1e9)
    print(f"\nto_zarr: {rows * cols * 4 / 2**30:.1f} GiB (RAM {_ram_bytes() / 2**30:.1f} GiB) "
          f"in {seconds:.1f} s ({rows * cols * 4 / seconds / 1e9:.2f} GB/s)")
    shutil.rmtree(path, ignore_errors=True)
