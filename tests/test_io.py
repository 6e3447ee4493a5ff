"""Streaming .npy/.safetensors files, provenance, verify, memmap fills (issue 5)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from sigint import interrupt

import varinit
from varinit import _boxes as _mapped, io
from varinit.io import _atomic, _save, _workers, formats
from varinit.dtypes import table_dtype

ml_dtypes = pytest.importorskip("ml_dtypes")
BF16 = np.dtype(ml_dtypes.bfloat16)

DTYPES = ["float16", "bfloat16", "float32", "float64"]


def raw(a: np.ndarray) -> np.ndarray:
    """Bytes of an array (bit-exact comparison, NaN-safe, any dtype)."""
    return np.ascontiguousarray(a).reshape(-1).view(np.uint8)


def expected(init, shape, dtype):
    return init(shape, dtype)


def initializers():
    return [
        varinit.GlorotUniform(seed=1),
        varinit.HeNormal(seed=2),
        varinit.TruncatedNormal(stddev=0.02, seed=3),
        varinit.RandomUniform(-1.0, 1.0, seed=4),
        varinit.Zeros(),
        varinit.Constant(0.25),
    ]



# ---------------------------------------------------------------------------
# Windows
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(7,), (10, 3), (3, 4, 5), (2, 1000), (1, 1, 50), (5, 0), ()])
@pytest.mark.parametrize("max_elems", [1, 3, 7, 12, 64, 10_000])
def test_windows_tile_the_table_in_order(shape, max_elems):
    flat = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    position = 0
    for w in _mapped.windows(shape, max_elems):
        assert w.start == position
        assert w.count <= max(max_elems, 1) or w.count == 1
        block = flat[w.index]
        assert block.shape == w.shape
        assert np.array_equal(block.reshape(-1), np.arange(w.start, w.start + w.count))
        position += w.count
    assert position == flat.size


# ---------------------------------------------------------------------------
# .npy round trips
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("init", initializers(), ids=lambda i: type(i).__name__)
@pytest.mark.parametrize("dtype", DTYPES)
def test_npy_round_trip(tmp_path, init, dtype):
    shape = (513, 37)
    path = varinit.save(tmp_path / "t.npy", init, shape, dtype)
    assert path == str(tmp_path / "t.npy")
    want = expected(init, shape, dtype)
    got = io.load_npy(path)
    assert got.shape == shape and got.dtype == want.dtype
    assert np.array_equal(raw(got), raw(want))
    if dtype != "bfloat16":
        assert np.array_equal(raw(np.load(path)), raw(want))
    assert varinit.verify(path)


@pytest.mark.parametrize("shape", [(), (0,), (4, 0, 3), (1,), (3, 4, 5, 6), (2, 70_000)])
def test_npy_shapes(tmp_path, shape, small_windows):
    init = varinit.GlorotUniform(seed=11)
    path = varinit.save(tmp_path / "s.npy", init, shape)
    got = np.load(path)
    assert got.shape == shape
    assert np.array_equal(raw(got), raw(init(shape)))
    assert varinit.verify(path)


def test_seams_with_many_threads(tmp_path, small_windows):
    init = varinit.TruncatedNormal(seed=5)
    shape = (300, 123)
    with varinit.num_threads(4):
        varinit.save(tmp_path / "a.npy", init, shape)
    with varinit.num_threads(1):
        varinit.save(tmp_path / "b.npy", init, shape)
    want = init(shape)
    assert np.array_equal(raw(np.load(tmp_path / "a.npy")), raw(want))
    assert np.array_equal(raw(np.load(tmp_path / "b.npy")), raw(want))


def test_bfloat16_npy_load_step(tmp_path):
    init = varinit.HeUniform(seed=9)
    path = varinit.save(tmp_path / "b.npy", init, (64, 8), "bfloat16")
    stored = np.load(path)
    assert stored.dtype == np.dtype("<u2")                     # bit patterns
    documented = stored.view(ml_dtypes.bfloat16)               # the documented load step
    assert np.array_equal(raw(documented), raw(init((64, 8), BF16)))
    assert io.load_npy(path).dtype == BF16
    mapped = io.load_npy(path, mmap_mode="r")
    assert mapped.dtype == BF16 and np.array_equal(raw(mapped), raw(documented))


def test_overwrite_is_atomic_and_replaces(tmp_path):
    path = tmp_path / "t.npy"
    varinit.save(path, varinit.GlorotUniform(seed=1), (10, 10))
    varinit.save(path, varinit.GlorotUniform(seed=2), (20, 5))
    assert np.array_equal(np.load(path), varinit.GlorotUniform(seed=2)((20, 5)))
    assert sorted(os.listdir(tmp_path)) == ["t.npy", "t.npy.varinit.json"]


# ---------------------------------------------------------------------------
# .safetensors
# ---------------------------------------------------------------------------

def read_header(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        return json.loads(f.read(n)), 8 + n


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_safetensors_load_file_equal(tmp_path, dtype):
    st = pytest.importorskip("safetensors.numpy")
    init = varinit.GlorotNormal(seed=21)
    path = varinit.save(tmp_path / "m.safetensors", init, (257, 33), dtype, name="emb")
    loaded = st.load_file(path)
    assert list(loaded) == ["emb"]
    assert np.array_equal(raw(loaded["emb"]), raw(init((257, 33), dtype)))
    assert loaded["emb"].dtype == np.dtype(dtype)
    assert varinit.verify(path)


def test_safetensors_bf16_header_and_bytes(tmp_path):
    init = varinit.TruncatedNormal(stddev=0.02, seed=8)
    path = varinit.save(tmp_path / "b.safetensors", init, (100, 7), "bfloat16")
    header, start = read_header(path)
    assert header["weight"]["dtype"] == "BF16"
    assert header["weight"]["shape"] == [100, 7]
    begin, end = header["weight"]["data_offsets"]
    data = Path(path).read_bytes()[start + begin:start + end]
    want = init((100, 7), BF16)
    assert sys.byteorder == "little" and data == raw(want).tobytes()
    assert start % 8 == 0
    assert varinit.verify(path)


def test_safetensors_bf16_with_torch(tmp_path):
    torch = pytest.importorskip("torch")
    st_torch = pytest.importorskip("safetensors.torch")
    init = varinit.GlorotUniform(seed=8)
    path = varinit.save(tmp_path / "b.safetensors", init, (50, 6), "bfloat16")
    t = st_torch.load_file(path)["weight"]
    assert t.dtype == torch.bfloat16
    want = init((50, 6), BF16).view(np.uint16).astype(np.int32)
    assert np.array_equal(t.view(torch.int16).numpy().astype(np.int32) & 0xFFFF, want)


def test_safetensors_several_tensors(tmp_path):
    a = varinit.GlorotUniform(seed=1)
    b = varinit.HeNormal(seed=varinit.SeedGenerator(7))
    c = varinit.Zeros()
    tensors = {"z": (a, (33, 3), "float16"), "b": (b, (10, 4), "float64"), "c": (c, (5,)),
               "a": (a, (7, 7), "bfloat16")}
    path = varinit.save(tmp_path / "m.safetensors", tensors)
    header, start = read_header(path)
    for name, entry in header.items():
        if name != "__metadata__":
            itemsize = {"F16": 2, "BF16": 2, "F32": 4, "F64": 8}[entry["dtype"]]
            assert (start + entry["data_offsets"][0]) % itemsize == 0, name
    data = Path(path).read_bytes()
    for name, (init, shape, *dt) in tensors.items():
        dtype = table_dtype(dt[0] if dt else None)
        begin, end = header[name]["data_offsets"]
        assert data[start + begin:start + end] == raw(init.block(shape, (), dtype)).tobytes(), name
    assert b.seed.calls == 0               # saving does not advance a SeedGenerator
    record = json.loads(header["__metadata__"]["varinit"])
    assert list(record["tensors"]) == ["z", "b", "c", "a"]        # the caller's order
    assert varinit.verify(path)


# ---------------------------------------------------------------------------
# The file-format interface is the extension point
# ---------------------------------------------------------------------------

class RawFormat(formats.FileFormat):
    """Test-only: the tensors' bytes alone; layout and provenance in the sidecar."""

    name = "raw"
    suffix = ".bin"
    sidecar = True

    def dtype_code(self, row):
        return row.name

    def header(self, tensors, record):
        return b""

    def sidecar_record(self, tensors, record, header):
        layout = {t.name: {"shape": list(t.shape), "dtype": self.dtype_code(t.row),
                           "data_offsets": [t.begin, t.begin + t.nbytes]} for t in tensors}
        return {**record, "raw_layout": layout}

    def read_layout(self, path, record):
        return record["raw_layout"], 0


def test_a_registered_format_saves_and_verifies(tmp_path, small_windows):
    a = varinit.HeNormal(seed=6)
    b = varinit.GlorotUniform(seed=2)
    path = tmp_path / "t.bin"
    formats.register(RawFormat())
    try:
        with pytest.raises(ValueError, match="registered already"):
            formats.register(RawFormat())
        varinit.save(path, {"w": (a, (300, 17)), "b": (b, (9,), "bfloat16")})
        assert listing(tmp_path) == ["t.bin", "t.bin.varinit.json"]
        record = io.provenance(path)
        assert record["file_format"] == "raw" and set(record["tensors"]) == {"w", "b"}
        assert path.read_bytes() == raw(a((300, 17))).tobytes() + raw(b((9,), BF16)).tobytes()
        assert varinit.verify(path)
        data = bytearray(path.read_bytes())
        data[4 * 1234 + 2] ^= 0x01
        path.write_bytes(bytes(data))
        tr = varinit.verify(path).tensors["w"]
        assert not tr.ok and tr.first_mismatch == 1234
        assert varinit.verify(path).tensors["b"].ok
    finally:
        formats.unregister("raw")
    with pytest.raises(ValueError, match=r"use a \.npy or \.safetensors file name"):
        varinit.save(tmp_path / "u.bin", a, (3,))


# ---------------------------------------------------------------------------
# Provenance and verify
# ---------------------------------------------------------------------------

def test_provenance_record(tmp_path):
    init = varinit.VarianceScaling(2.0, "fan_out", "uniform", seed=1234)
    varinit.save(tmp_path / "t.npy", init, (40, 30), "float64")
    side = json.loads((tmp_path / "t.npy.varinit.json").read_text())
    assert side == io.provenance(tmp_path / "t.npy")
    assert side["format"] == io.PROVENANCE_FORMAT
    assert side["varinit_version"] == varinit.__version__
    assert side["stream_version"] == varinit.STREAM_VERSION
    t = side["tensors"]["weight"]
    assert t["seed"] == 1234 and t["shape"] == [40, 30] and t["dtype"] == "float64"
    assert t["initializer"] == varinit.serialize(init)
    varinit.save(tmp_path / "t.safetensors", init, (40, 30), "float64")
    record = io.provenance(tmp_path / "t.safetensors")
    assert record["tensors"] == side["tensors"]


def test_unseeded_and_seed_generator_are_pinned(tmp_path):
    unseeded = varinit.GlorotUniform()
    varinit.save(tmp_path / "u.npy", unseeded, (30, 20))
    record = io.provenance(tmp_path / "u.npy")["tensors"]["weight"]
    assert record["seed"] == unseeded.seed and isinstance(record["seed"], int)
    assert varinit.verify(tmp_path / "u.npy")

    gen = varinit.SeedGenerator(5)
    init = varinit.RandomNormal(seed=gen)
    init((3,))                                    # advance to call 1
    varinit.save(tmp_path / "g.npy", init, (30, 20))
    assert gen.calls == 1
    record = io.provenance(tmp_path / "g.npy")["tensors"]["weight"]
    assert record["seed"] == gen.fill_seed(1)
    assert np.array_equal(np.load(tmp_path / "g.npy"), init((30, 20)))   # call 1's values
    assert varinit.verify(tmp_path / "g.npy")


@pytest.mark.parametrize("suffix", [".npy", ".safetensors"])
def test_verify_detects_a_changed_byte(tmp_path, suffix):
    path = tmp_path / f"t{suffix}"
    varinit.save(path, varinit.GlorotUniform(seed=3), (100, 10))
    data = bytearray(path.read_bytes())
    index = 537                                   # element to corrupt
    pos = len(data) - 100 * 10 * 4 + index * 4 + 1
    data[pos] ^= 0x40
    path.write_bytes(bytes(data))
    report = varinit.verify(path)
    assert not report
    tr = report.tensors["weight"]
    assert not tr.ok and tr.mismatched_bytes == 1 and tr.first_mismatch == index
    assert "FAILED" in report.summary()


def test_verify_problems(tmp_path, monkeypatch):
    path = tmp_path / "t.npy"
    varinit.save(path, varinit.GlorotUniform(seed=3), (10, 10))
    side = Path(io.sidecar_path(path))
    record = json.loads(side.read_text())
    record["stream_version"] = 1                  # a file from before stream version 2
    side.write_text(json.dumps(record))
    report = varinit.verify(path)
    weight = report.tensors["weight"]
    assert not report and weight.other_stream == 1
    assert "written by stream version 1" in weight.problem
    assert "NOT CHECKED" in report.summary() and "FAILED" not in report.summary()

    record["stream_version"] = varinit.STREAM_VERSION
    record["tensors"]["weight"]["shape"] = [10, 11]
    side.write_text(json.dumps(record))
    assert "shape" in varinit.verify(path).tensors["weight"].problem

    side.unlink()
    with pytest.raises(FileNotFoundError, match="sidecar"):
        varinit.verify(path)
    (tmp_path / "x.safetensors").write_bytes(b"\x02\x00\x00\x00\x00\x00\x00\x00{}")
    with pytest.raises(ValueError, match="no varinit provenance"):
        varinit.verify(tmp_path / "x.safetensors")
    with pytest.raises(ValueError, match=".npy or .safetensors"):
        varinit.verify(tmp_path / "x.bin")


def test_verify_truncated_file(tmp_path):
    path = tmp_path / "t.safetensors"
    varinit.save(path, varinit.GlorotUniform(seed=3), (100, 10))
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) - 4)
    report = varinit.verify(path)
    assert not report and "truncated" in report.tensors["weight"].problem


# ---------------------------------------------------------------------------
# Bad input, disk space, failures: nothing lost, nothing half-written
# ---------------------------------------------------------------------------

def listing(folder):
    return sorted(os.listdir(folder))


@pytest.mark.parametrize("args, exc, match", [
    (("t.txt", (3,)), ValueError, "npy or .safetensors"),
    (("t.npy", (3, -1)), ValueError, "negative"),
    (("t.npy", (3, 1.5)), TypeError, "must be an integer"),
    (("t.npy", (3,), "int8"), TypeError, "int8"),
    (("t.npy", (3,), "float128"), TypeError, "dtype"),
    (("t.npy", (3,), np.dtype(np.float32).newbyteorder()), ValueError, "byte order"),
    (("t.npy", (3,), "bf16"), TypeError, "bf16"),
])
def test_bad_arguments_create_nothing(tmp_path, args, exc, match):
    name, shape, *dtype = args
    with pytest.raises(exc, match=match):
        varinit.save(tmp_path / name, varinit.GlorotUniform(seed=0), shape, *dtype)
    assert listing(tmp_path) == []


def test_bad_initializers_create_nothing(tmp_path):
    with pytest.raises(TypeError, match="initializer"):
        varinit.save(tmp_path / "t.npy", np.zeros, (3,))
    with pytest.raises(NotImplementedError, match="blockwise"):
        varinit.save(tmp_path / "t.npy", varinit.Orthogonal(seed=0), (4, 4))
    with pytest.raises(ValueError, match="one array"):
        varinit.save(tmp_path / "t.npy", {"a": (varinit.Zeros(), (2,)), "b": (varinit.Zeros(), (2,))})
    with pytest.raises(TypeError, match="shape"):
        varinit.save(tmp_path / "t.npy", varinit.Zeros())
    with pytest.raises(FileNotFoundError, match="does not exist"):
        varinit.save(tmp_path / "missing" / "t.npy", varinit.Zeros(), (3,))
    assert listing(tmp_path) == []


def test_not_enough_disk_space(tmp_path, monkeypatch):
    path = tmp_path / "t.npy"
    varinit.save(path, varinit.GlorotUniform(seed=1), (10,))
    before = path.read_bytes()
    real = shutil.disk_usage

    def tiny(p):
        usage = real(p)
        return usage._replace(free=1000)

    monkeypatch.setattr(shutil, "disk_usage", tiny)
    with pytest.raises(io.NotEnoughDiskSpace, match=r"needs 3\.8 MiB .* free") as info:
        varinit.save(path, varinit.GlorotUniform(seed=2), (1000, 1000))
    assert isinstance(info.value, OSError) and info.value.errno == 28
    assert path.read_bytes() == before                       # old file untouched
    assert listing(tmp_path) == ["t.npy", "t.npy.varinit.json"]


class Failing(varinit.GlorotUniform):
    """Raises after a few windows, as a disk or a bug would mid-write."""

    def __init__(self, after: int, **kw):
        super().__init__(**kw)
        self.after = after
        self.count = 0
        self.lock = threading.Lock()

    def block(self, shape, index, dtype=None, out=None):
        with self.lock:
            self.count += 1
            n = self.count
        if n > self.after:
            raise RuntimeError("boom")
        return super().block(shape, index, dtype, out)


@pytest.mark.parametrize("suffix", [".npy", ".safetensors"])
def test_failure_mid_write_leaves_old_file(tmp_path, small_windows, suffix):
    path = tmp_path / f"t{suffix}"
    varinit.save(path, varinit.GlorotUniform(seed=1), (5,))
    before = listing(tmp_path), path.read_bytes()
    with pytest.raises(RuntimeError, match="boom"):
        varinit.save(path, Failing(after=5, seed=1), (200, 100))
    assert (listing(tmp_path), path.read_bytes()) == before
    assert not [t for t in threading.enumerate() if t.name.startswith("varinit-io")]


# ---------------------------------------------------------------------------
# Progress
# ---------------------------------------------------------------------------

def test_progress_callable(tmp_path, small_windows):
    calls = []
    varinit.save(tmp_path / "t.npy", varinit.GlorotUniform(seed=1), (100, 100),
                 progress=lambda done, total: calls.append((done, total)))
    assert calls[0] == (0, 40_000) and calls[-1] == (40_000, 40_000)
    assert all(a[0] <= b[0] for a, b in zip(calls, calls[1:]))
    assert {t for _, t in calls} == {40_000}


def test_progress_bar(tmp_path, capsys):
    pytest.importorskip("tqdm")
    varinit.save(tmp_path / "t.npy", varinit.GlorotUniform(seed=1), (100, 100), progress=True)
    err = capsys.readouterr().err
    assert "t.npy" in err and "100%" in err


def test_progress_bad_type(tmp_path):
    with pytest.raises(TypeError, match="progress"):
        varinit.save(tmp_path / "t.npy", varinit.Zeros(), (3,), progress="yes")
    assert listing(tmp_path) == []


# ---------------------------------------------------------------------------
# np.memmap
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_fill_mapped_equals_full(tmp_path, monkeypatch, dtype):
    monkeypatch.setattr(_mapped, "MAPPED_WINDOW", 10_000)          # many windows, unaligned to pages
    dtype = table_dtype(dtype)
    init = varinit.HeNormal(seed=4)
    shape = (701, 33)
    mm = np.memmap(tmp_path / "m.bin", dtype=dtype, mode="w+", shape=shape)
    assert io.fill_mapped(init, mm) is mm
    del mm
    back = np.memmap(tmp_path / "m.bin", dtype=dtype, mode="r", shape=shape)
    assert np.array_equal(raw(back), raw(init(shape, dtype)))


def test_fill_mapped_with_offset_and_fallbacks(tmp_path, monkeypatch):
    monkeypatch.setattr(_mapped, "MAPPED_WINDOW", 4096)
    init = varinit.GlorotUniform(seed=4)
    path = tmp_path / "t.npy"
    mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(300, 17))
    io.fill_mapped(init, mm)
    del mm
    assert np.array_equal(np.load(path), init((300, 17)))
    # Orthogonal cannot go blockwise: filled in one go, still correct.
    mm = np.memmap(tmp_path / "o.bin", dtype=np.float64, mode="w+", shape=(8, 8))
    io.fill_mapped(varinit.Orthogonal(seed=1), mm)
    assert np.array_equal(mm, varinit.Orthogonal(seed=1)((8, 8), "float64"))
    # A plain array is just filled.
    plain = np.empty((5, 5), np.float32)
    assert not io.fill_mapped_windows(init, plain)
    io.fill_mapped(init, plain)
    assert np.array_equal(plain, init((5, 5)))


def test_fill_mapped_progress(tmp_path, monkeypatch):
    monkeypatch.setattr(_mapped, "MAPPED_WINDOW", 4096)
    init = varinit.GlorotUniform(seed=4)
    mm = np.memmap(tmp_path / "p.bin", dtype=np.float32, mode="w+", shape=(100, 30))
    seen = []
    io.fill_mapped(init, mm, progress=lambda done, total: seen.append((done, total)))
    assert np.array_equal(mm, init((100, 30)))
    assert seen[0] == (0, mm.nbytes) and seen[-1] == (mm.nbytes, mm.nbytes)
    assert len(seen) == 1 + len(list(_mapped.windows((100, 30), 4096 // 4)))  # 0, then per window
    assert len(seen) > 2
    assert [d for d, _ in seen] == sorted({d for d, _ in seen})
    # Filled in one go (not a memmap): no progress is reported.
    seen.clear()
    io.fill_mapped(init, np.empty((5, 5), np.float32), progress=lambda d, t: seen.append(d))
    assert seen == []


def test_call_with_big_memmap_uses_windows_and_advances_once(tmp_path, monkeypatch):
    monkeypatch.setattr(_mapped, "MAPPED_THRESHOLD", 1000)
    monkeypatch.setattr(_mapped, "MAPPED_WINDOW", 5000)
    used = []
    real = _mapped.fill_windowed

    def spy(*args, **kwargs):
        used.append(real(*args, **kwargs))
        return used[-1]

    monkeypatch.setattr(_mapped, "fill_windowed", spy)
    gen = varinit.SeedGenerator(3)
    init = varinit.HeUniform(seed=gen)
    reference = varinit.HeUniform(seed=varinit.SeedGenerator(3))
    for call in range(2):
        mm = np.memmap(tmp_path / f"m{call}.bin", dtype=np.float32, mode="w+", shape=(400, 30))
        assert init(out=mm) is mm
        assert np.array_equal(mm, reference((400, 30)))       # call k's values
        assert gen.calls == call + 1                            # advanced once per call
    assert used == [True, True]


def advance_before_each_window(monkeypatch, module, gen):
    """Advance ``gen`` before every window ``module`` cuts, as another thread
    or another initializer sharing the generator would."""
    real = _mapped.windows

    def advancing(shape, max_elems):
        for w in real(shape, max_elems):
            gen.next()
            yield w

    monkeypatch.setattr(module, "windows", advancing)


def test_call_with_big_memmap_uses_one_seed(tmp_path, monkeypatch):
    monkeypatch.setattr(_mapped, "MAPPED_THRESHOLD", 1000)
    monkeypatch.setattr(_mapped, "MAPPED_WINDOW", 5000)
    gen = varinit.SeedGenerator(3)
    advance_before_each_window(monkeypatch, _mapped, gen)
    mm = np.memmap(tmp_path / "m.bin", dtype=np.float32, mode="w+", shape=(400, 30))
    varinit.HeUniform(seed=gen)(out=mm)
    assert gen.calls > 2                                        # many windows, each advanced it
    assert np.array_equal(mm, varinit.HeUniform(seed=gen.fill_seed(0))((400, 30)))


def test_save_uses_one_seed_while_the_generator_advances(tmp_path, monkeypatch, small_windows):
    gen = varinit.SeedGenerator(5)
    advance_before_each_window(monkeypatch, _save, gen)
    init = varinit.RandomNormal(seed=gen)
    for suffix in (".npy", ".safetensors"):
        path = tmp_path / f"t{suffix}"
        first = gen.peek()
        varinit.save(path, init, (200, 100))
        assert gen.calls > 2
        assert io.provenance(path)["tensors"]["weight"]["seed"] == first
        assert varinit.verify(path)
    data = np.load(tmp_path / "t.npy")
    assert np.array_equal(data, varinit.RandomNormal(seed=gen.fill_seed(0))((200, 100)))


def test_fill_mapped_uses_one_seed_and_never_advances(tmp_path, monkeypatch):
    monkeypatch.setattr(_mapped, "MAPPED_WINDOW", 4096)
    gen = varinit.SeedGenerator(9)
    init = varinit.GlorotUniform(seed=gen)
    reference = varinit.GlorotUniform(seed=gen.fill_seed(0))((300, 17))
    with monkeypatch.context() as m:
        advance_before_each_window(m, _mapped, gen)
        mm = np.memmap(tmp_path / "m.bin", dtype=np.float32, mode="w+", shape=(300, 17))
        io.fill_mapped(init, mm)
    assert gen.calls > 2
    assert np.array_equal(mm, reference)
    # The fill in one go (a plain array, or Orthogonal) does not advance it either.
    plain = np.empty((300, 17), np.float32)
    calls = gen.calls
    io.fill_mapped(init, plain)
    assert gen.calls == calls
    assert np.array_equal(plain, init((300, 17)))
    gen = varinit.SeedGenerator(2)
    ortho = varinit.Orthogonal(seed=gen)
    mm = np.memmap(tmp_path / "o.bin", dtype=np.float64, mode="w+", shape=(8, 8))
    io.fill_mapped(ortho, mm)
    assert gen.calls == 0
    assert np.array_equal(mm, ortho((8, 8), "float64"))


def test_fill_mapped_checks_progress_on_both_paths(tmp_path):
    init = varinit.GlorotUniform(seed=1)
    plain = np.zeros((5, 5), np.float32)
    mm = np.memmap(tmp_path / "m.bin", dtype=np.float32, mode="w+", shape=(5, 5))
    for out in (plain, mm):
        with pytest.raises(TypeError, match="progress"):
            io.fill_mapped(init, out, progress="yes")
        assert not out.any()
    with pytest.raises(TypeError, match="progress"):
        io.fill_mapped_windows(init, plain, progress="yes")


def test_call_with_memmap_out(tmp_path):
    init = varinit.GlorotUniform(seed=4)
    mm = np.memmap(tmp_path / "m.bin", dtype=np.float32, mode="w+", shape=(200, 30))
    init(out=mm)
    mm.flush()
    assert np.array_equal(np.fromfile(tmp_path / "m.bin", np.float32).reshape(200, 30),
                          init((200, 30)))


# ---------------------------------------------------------------------------
# Bounded memory and Ctrl-C, in subprocesses
# ---------------------------------------------------------------------------

needs_proc = pytest.mark.skipif(not os.path.exists("/proc/self/status"),
                                reason="peak RSS is read from /proc/self/status (Linux)")

CHILD_RSS = textwrap.dedent("""
    import sys, numpy as np, varinit, varinit.io

    def hwm():
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024

    mode, folder = sys.argv[1], sys.argv[2]
    init = varinit.GlorotUniform(seed=1)
    shape = (1 << 18, 1024)                      # 2**28 float32 = 1 GiB
    base = hwm()
    if mode == "npy":
        varinit.save(folder + "/t.npy", init, shape, fsync=False)
    elif mode == "safetensors":
        varinit.save(folder + "/t.safetensors", {"a": (init, shape), "b": (init, (1000, 3))},
                     fsync=False)
    elif mode == "verify":
        varinit.save(folder + "/t.npy", init, shape, fsync=False)
        base = hwm()
        assert varinit.verify(folder + "/t.npy")
    elif mode == "memmap":
        mm = np.lib.format.open_memmap(folder + "/t.npy", mode="w+", dtype=np.float32,
                                       shape=shape)
        varinit.io.fill_mapped(init, mm)
    elif mode == "call":
        mm = np.lib.format.open_memmap(folder + "/t.npy", mode="w+", dtype=np.float32,
                                       shape=shape)
        init(out=mm)
    elif mode == "naive":                         # the control: what the bound rules out
        np.save(folder + "/t.npy", init(shape))
    print(hwm() - base)
""")

BOUND = 256 << 20


def _child_peak(mode, tmp_path):
    try:
        out = subprocess.run([sys.executable, "-c", CHILD_RSS, mode, str(tmp_path)],
                             capture_output=True, text=True, timeout=120)
    finally:
        for name in os.listdir(tmp_path):          # pytest keeps old temp folders: 1 GiB each
            os.unlink(tmp_path / name)
    assert out.returncode == 0, out.stderr
    return int(out.stdout.split()[-1])


@needs_proc
@pytest.mark.slow
@pytest.mark.parametrize("mode", ["npy", "safetensors", "verify", "memmap"])
def test_bounded_memory(tmp_path, mode):
    if shutil.disk_usage(tmp_path).free < 3 << 30:
        pytest.skip("needs 3 GiB of free disk space")
    peak = _child_peak(mode, tmp_path)
    assert peak <= BOUND, f"{mode}: peak RSS {peak / 2**20:.0f} MiB above the imported interpreter"


@needs_proc
@pytest.mark.slow
def test_bounded_memory_call_with_memmap(tmp_path):
    """``init(out=np.memmap(...))`` goes through the windowed hook."""
    if shutil.disk_usage(tmp_path).free < 2 << 30:
        pytest.skip("needs 2 GiB of free disk space")
    assert _child_peak("call", tmp_path) <= BOUND


@needs_proc
@pytest.mark.slow
def test_bounded_memory_control_fails_the_bound(tmp_path):
    """The measurement can fail: materialising the table exceeds the bound."""
    if shutil.disk_usage(tmp_path).free < 2 << 30:
        pytest.skip("needs 2 GiB of free disk space")
    assert _child_peak("naive", tmp_path) > BOUND


CHILD_SIGINT = textwrap.dedent("""
    import sys, threading, varinit

    path, n = sys.argv[1], int(sys.argv[2])
    reported = False

    def progress(done, total):
        global reported
        if done > 0 and not reported:
            reported = True
            print("STARTED", flush=True)

    try:
        varinit.save(path, varinit.GlorotUniform(seed=1), (n,), progress=progress)
    except KeyboardInterrupt:
        alive = [t.name for t in threading.enumerate() if t.name.startswith("varinit")
                 and t.is_alive()]
        print("INTERRUPTED", alive, flush=True)
        sys.exit(130)
    print("FINISHED", flush=True)
""")


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("suffix", [".npy", ".safetensors"])
def test_sigint_removes_partial_file(tmp_path, suffix):
    n = 2 << 30                                   # 8 GiB of float32: far longer than the test
    if shutil.disk_usage(tmp_path).free < (n * 4) + (2 << 30):
        pytest.skip("needs 10 GiB of free disk space for the reservation")
    path = tmp_path / f"big{suffix}"
    proc = subprocess.Popen([sys.executable, "-c", CHILD_SIGINT, str(path), str(n)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if line.strip() != "STARTED":
        proc.kill()
        pytest.fail(proc.communicate()[1])
    rest, err, took = interrupt(proc, 0.3)
    assert proc.returncode == 130, err
    assert rest.strip() == "INTERRUPTED []", (rest, err)
    assert took < 5.0, f"took {took:.2f} s to stop"
    assert listing(tmp_path) == []                # no partial file, no temporary, no sidecar


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_is_handled_as_ctrl_c_and_still_ends_the_process(tmp_path):
    n = 2 << 30                                   # 8 GiB of float32: far longer than the test
    if shutil.disk_usage(tmp_path).free < (n * 4) + (2 << 30):
        pytest.skip("needs 10 GiB of free disk space for the reservation")
    path = tmp_path / "big.npy"
    varinit.save(path, varinit.Ones(), (8,))      # an old file under the name
    before = {name: (tmp_path / name).read_bytes() for name in listing(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-c", CHILD_SIGINT, str(path), str(n)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if proc.stdout.readline().strip() != "STARTED":
            pytest.fail(proc.communicate()[1])
        time.sleep(0.3)
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGTERM     # still ended by the signal
    assert took < 5.0, f"took {took:.2f} s to stop"
    # the old file and its sidecar as they were, no temporary left
    assert {name: (tmp_path / name).read_bytes() for name in listing(tmp_path)} == before


def test_a_later_save_removes_temporaries_of_dead_writers(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()                                   # a pid of this host that no longer runs
    host = _atomic._HOST
    stale = tmp_path / f".t.npy.{host}-{dead.pid}-0123abcd.partial"
    live = tmp_path / f".t.npy.{host}-{os.getpid()}-0123abcd.partial"
    remote = tmp_path / f".t.npy.otherhost-{dead.pid}-0123abcd.partial"
    other = tmp_path / f".u.npy.{host}-{dead.pid}-0123abcd.partial"
    for f in (stale, live, remote, other):
        f.write_bytes(b"x" * 100)
    varinit.save(tmp_path / "t.npy", varinit.Ones(), (4,))
    left = set(listing(tmp_path))
    assert stale.name not in left                 # its writer is gone: removed
    assert {live.name, remote.name, other.name} <= left   # alive, elsewhere, another target
    assert np.load(tmp_path / "t.npy").tolist() == [1.0] * 4


def test_disk_full_mid_write(tmp_path, monkeypatch, small_windows):
    real = _atomic.pwrite_all
    count = {"n": 0}

    def flaky(fd, data, offset):
        count["n"] += 1
        if count["n"] > 4:
            raise OSError(28, "No space left on device")
        return real(fd, data, offset)

    monkeypatch.setattr(_atomic, "pwrite_all", flaky)
    with pytest.raises(io.NotEnoughDiskSpace, match="ran out of disk space"):
        varinit.save(tmp_path / "t.safetensors", varinit.GlorotUniform(seed=1), (300, 100))
    assert listing(tmp_path) == []


def test_interrupt_in_process_cleans_up(tmp_path, small_windows):
    """A KeyboardInterrupt reaching the waiting thread (here from the progress
    callback) stops the workers and removes the temporary file."""
    def progress(done, total):
        if done > 0:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        varinit.save(tmp_path / "t.npy", varinit.GlorotUniform(seed=1), (3000, 100),
                     progress=progress)
    assert listing(tmp_path) == []
    assert not [t for t in threading.enumerate() if t.name.startswith("varinit-io")]


def test_progress_without_tqdm(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    varinit.save(tmp_path / "t.npy", varinit.GlorotUniform(seed=1), (100, 100), progress=True)
    err = capsys.readouterr().err
    assert "t.npy: 100.0%" in err


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigint_is_held_across_the_final_renames():
    """The commit (rename of data, then sidecar) is not split by Ctrl-C: the
    signal is delivered after it, and the previous handler is restored."""
    before = signal.getsignal(signal.SIGINT)
    reached_end = False
    with pytest.raises(KeyboardInterrupt):
        with _workers.deferred_sigint():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
            reached_end = True
    assert reached_end
    assert signal.getsignal(signal.SIGINT) is before


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ignored_sigint_stays_ignored():
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with _workers.deferred_sigint():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigint_handler_not_set_from_python(monkeypatch):
    """A handler installed outside Python reads as None and cannot be
    restored: the section runs without touching it."""
    installed = []
    monkeypatch.setattr(signal, "getsignal", lambda signum: None)
    real_signal = signal.signal

    def spy(signum, handler):
        installed.append(handler)
        previous = real_signal(signum, handler)
        return None if len(installed) == 1 else previous    # as for a C handler

    monkeypatch.setattr(signal, "signal", spy)
    try:
        with _workers.deferred_sigint():
            pass
    finally:
        monkeypatch.undo()
        if installed:
            signal.signal(signal.SIGINT, signal.default_int_handler)
    assert installed == []


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigint_during_the_renames_leaves_a_complete_file(tmp_path, monkeypatch):
    path = tmp_path / "t.npy"
    real = _atomic.AtomicFile.commit

    def commit(self, fsync):
        if self.path == str(path):
            os.kill(os.getpid(), signal.SIGINT)              # Ctrl-C while renaming
        return real(self, fsync)

    monkeypatch.setattr(_atomic.AtomicFile, "commit", commit)
    with pytest.raises(KeyboardInterrupt):
        varinit.save(path, varinit.GlorotUniform(seed=1), (30, 20))
    assert listing(tmp_path) == ["t.npy", "t.npy.varinit.json"]
    assert varinit.verify(path)


def test_sidecar_failure_never_leaves_an_old_record(tmp_path, monkeypatch):
    path = tmp_path / "t.npy"
    varinit.save(path, varinit.GlorotUniform(seed=1), (30, 20))
    real = _atomic.AtomicFile.commit

    def commit(self, fsync):
        if self.path == io.sidecar_path(path):
            raise OSError(5, "Input/output error")
        return real(self, fsync)

    monkeypatch.setattr(_atomic.AtomicFile, "commit", commit)
    with pytest.raises(OSError):
        varinit.save(path, varinit.GlorotUniform(seed=2), (30, 20))
    assert np.array_equal(np.load(path), varinit.GlorotUniform(seed=2)((30, 20)))
    assert listing(tmp_path) == ["t.npy"]                 # no record rather than seed 1's

