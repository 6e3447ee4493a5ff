"""Faults during a save: a disk that fills after the free-space check (a
real, small tmpfs), I/O errors at the first, a middle and the last write,
a writer killed outright, and two processes saving to one path at once.

The promise (docs/huge-tables.md): the name holds the previous file intact
or the new one complete, never a torn file; a table and its sidecar describe
the same save; after anything but SIGKILL no temporary remains, and after
SIGKILL the next save or ``varinit clean`` removes it; the error names the
cause.
"""
import errno
import multiprocessing
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import varinit
from varinit import io
from varinit.cli import main as cli_main
from varinit.io import _atomic, _save

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX")


def snapshot(folder):
    return {name: (folder / name).read_bytes() for name in sorted(os.listdir(folder))}


@pytest.fixture
def small_tmpfs(tmp_path):
    """An 8 MiB tmpfs: a real file system that runs out of space."""
    if sys.platform != "linux" or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root on Linux (CI runs as root)")
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


@posix_only
@pytest.mark.parametrize("suffix", [".npy", ".safetensors"])
def test_disk_filled_by_another_writer_after_the_check(small_tmpfs, monkeypatch, suffix):
    path = small_tmpfs / f"t{suffix}"
    varinit.save(path, varinit.GlorotUniform(seed=1), (1000, 256))      # 1 MiB, the old file
    before = snapshot(small_tmpfs)
    real_check = _save.check_target

    def check_then_fill(target, size):
        real_check(target, size)                  # passes: 4 MiB needed, ~7 MiB free
        with open(small_tmpfs / "filler", "wb") as f:   # then another writer takes the rest
            try:
                while True:
                    f.write(b"\0" * (256 << 10))
                    f.flush()
            except OSError as exc:
                assert exc.errno == errno.ENOSPC

    monkeypatch.setattr(_save, "check_target", check_then_fill)
    with pytest.raises(io.NotEnoughDiskSpace, match="ran out of disk space") as caught:
        varinit.save(path, varinit.GlorotUniform(seed=2), (4000, 256))
    assert caught.value.errno == errno.ENOSPC
    (small_tmpfs / "filler").unlink()
    assert snapshot(small_tmpfs) == before        # old table and sidecar intact, no temporary
    assert varinit.verify(path)


@pytest.mark.parametrize("when", ["first", "middle", "last"])
@pytest.mark.parametrize("suffix", [".npy", ".safetensors"])
def test_io_error_at_any_write_keeps_the_old_file(tmp_path, monkeypatch, small_windows,
                                                  when, suffix):
    path = tmp_path / f"t{suffix}"
    varinit.save(path, varinit.GlorotUniform(seed=1), (50, 10))
    before = snapshot(tmp_path)
    real = _atomic.pwrite_all
    calls = []
    monkeypatch.setattr(_atomic, "pwrite_all", lambda fd, data, offset: calls.append(1) or
                        real(fd, data, offset))
    varinit.save(tmp_path / f"count{suffix}", varinit.GlorotUniform(seed=2), (300, 100))
    total = len(calls)
    os.unlink(tmp_path / f"count{suffix}")
    if suffix == ".npy":
        os.unlink(tmp_path / f"count{suffix}.varinit.json")
    fail_at = {"first": 1, "middle": total // 2, "last": total}[when]
    calls.clear()

    def failing(fd, data, offset):
        calls.append(1)
        if len(calls) == fail_at:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real(fd, data, offset)

    monkeypatch.setattr(_atomic, "pwrite_all", failing)
    with pytest.raises(OSError) as caught:
        varinit.save(path, varinit.GlorotUniform(seed=2), (300, 100))
    assert caught.value.errno == errno.EIO
    assert "Input/output error" in str(caught.value)
    assert snapshot(tmp_path) == before


# A save that stalls after its first window (its progress callback sleeps),
# so the temporary exists when the signal comes.
CHILD_SAVE_FOREVER = r"""
import sys, time, varinit
print("STARTED", flush=True)
varinit.save(sys.argv[1], varinit.Ones(), (int(sys.argv[2]),), fsync=False,
             progress=lambda done, total: done and time.sleep(3600))
"""


@posix_only
def test_sigkill_leaves_a_temporary_that_clean_and_the_next_save_remove(tmp_path, capsys):
    path = tmp_path / "big.npy"
    varinit.save(path, varinit.Ones(), (8,))
    before = snapshot(tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", CHILD_SAVE_FOREVER, str(path), str(1 << 24)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "STARTED", proc.stderr.read()
        deadline = time.monotonic() + 30
        while not [n for n in os.listdir(tmp_path) if n.endswith(".partial")]:
            assert time.monotonic() < deadline, "the child never created its temporary"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stale = [n for n in os.listdir(tmp_path) if n.endswith(".partial")]
    assert len(stale) == 1
    # the old file is untouched by the killed save
    assert {n: b for n, b in snapshot(tmp_path).items() if n not in stale} == before

    assert cli_main(["clean", str(tmp_path), "--dry-run"]) == 0
    assert f"would remove {tmp_path / stale[0]}" in capsys.readouterr().out
    assert stale[0] in os.listdir(tmp_path)
    live = tmp_path / f".big.npy.{_atomic._HOST}-{os.getpid()}-0123abcd.partial"
    live.write_bytes(b"x")                        # a running writer's (ours): kept
    assert cli_main(["clean", str(tmp_path)]) == 0
    assert "removed 1 stale temporary" in capsys.readouterr().out
    assert snapshot(tmp_path) == {**before, live.name: b"x"}
    assert io.clean(tmp_path) == []


def test_clean_refuses_a_file(tmp_path, capsys):
    (tmp_path / "f").write_bytes(b"")
    with pytest.raises(NotADirectoryError):
        io.clean(tmp_path / "f")
    assert cli_main(["clean", str(tmp_path / "f")]) == 2
    assert "not a folder" in capsys.readouterr().err


def _slow_sidecar_rename(seconds):
    """Delay the rename that publishes a sidecar, as a busy network file
    system might: another writer's whole publish can fall inside it."""
    real = os.replace

    def slow(src, dst):
        if str(dst).endswith(".varinit.json"):
            time.sleep(seconds)
        real(src, dst)
    os.replace = slow


def _writer(path, seed, start):
    # writer 1 stalls before its sidecar rename; writer 2 saves during the stall
    _slow_sidecar_rename(0.3 if seed == 1 else 0.0)
    start.wait()
    if seed == 2:
        time.sleep(0.1)
    varinit.save(path, varinit.GlorotUniform(seed=seed), (64, 32 + seed), fsync=False)


@posix_only
def test_concurrent_writers_leave_a_table_and_its_own_sidecar(tmp_path):
    """Two processes save different tables to one .npy path at once, twelve
    rounds: each time the table is one writer's, whole, and verify passes
    (without the publish lock, writer 2's table ends up beside writer 1's
    sidecar)."""
    path = tmp_path / "t.npy"
    ctx = multiprocessing.get_context("fork")
    tables = {seed: varinit.GlorotUniform(seed=seed)((64, 32 + seed)) for seed in (1, 2)}
    for _ in range(4):
        start = ctx.Event()
        procs = [ctx.Process(target=_writer, args=(str(path), seed, start)) for seed in (1, 2)]
        for p in procs:
            p.start()
        start.set()
        for p in procs:
            p.join(60)
            assert p.exitcode == 0
        report = varinit.verify(path)
        assert report, report.summary()
        table = np.load(path)
        assert any(table.shape == t.shape and np.array_equal(table, t) for t in tables.values())
        assert sorted(os.listdir(tmp_path)) == ["t.npy", "t.npy.varinit.json"]
