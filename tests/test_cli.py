"""The varinit command line: init / verify / info / bench, exit codes, Ctrl-C."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
from sigint import interrupt

import varinit
from varinit import cli, io
from varinit.io import _atomic, _save
from varinit.__main__ import main


def run(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "varinit", *args], capture_output=True,
                          text=True, timeout=timeout)


def test_round_trip_subprocess(tmp_path):
    out = tmp_path / "table.npy"
    r = run("init", "--shape", "1000,128", "--initializer", "glorot_uniform", "--dtype",
            "float32", "--seed", "0", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stdout and "seed=0" in r.stdout
    assert r.stderr == ""                                # not a terminal: no progress bar
    assert np.array_equal(np.load(out), varinit.GlorotUniform(seed=0)((1000, 128)))
    r = run("verify", str(out))
    assert r.returncode == 0 and "OK" in r.stdout, r.stderr
    # Corrupt one byte: verify fails with exit code 1.
    data = bytearray(out.read_bytes())
    data[-1] ^= 1
    out.write_bytes(bytes(data))
    r = run("verify", str(out))
    assert r.returncode == 1 and "FAILED" in r.stdout


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "BF16", "float64", "fp16", "F32"])
def test_init_safetensors_in_process(tmp_path, capsys, dtype):
    out = tmp_path / "m.safetensors"
    assert main(["init", "--shape", "300x7", "-i", "he_normal", "--dtype", dtype, "--seed", "5",
                 "-o", str(out), "--name", "emb", "--no-progress"]) == 0
    record = io.provenance(out)
    assert list(record["tensors"]) == ["emb"]
    assert record["tensors"]["emb"]["seed"] == 5
    assert varinit.verify(out)
    header = json.loads(out.read_bytes()[8:8 + int.from_bytes(out.read_bytes()[:8], "little")])
    assert header["emb"]["shape"] == [300, 7]


@pytest.mark.parametrize("alias,name", [("fp16", "float16"), ("F32", "float32"),
                                        ("bf16", "bfloat16"), ("f64", "float64")])
def test_dtype_aliases_name_the_table_dtype(tmp_path, alias, name):
    out = tmp_path / "t.npy"
    assert main(["init", "--shape", "4,3", "--dtype", alias, "--seed", "1", "-o", str(out),
                 "--no-progress"]) == 0
    assert io.provenance(out)["tensors"]["weight"]["dtype"] == name


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert f"varinit {varinit.__version__}" in out and f"stream version {varinit.STREAM_VERSION}" in out


def test_initializer_as_json_and_file(tmp_path, capsys):
    config = {"class_name": "RandomNormal", "config": {"mean": 1.0, "stddev": 0.5, "seed": 3}}
    a, b = tmp_path / "a.npy", tmp_path / "b.npy"
    assert main(["init", "--shape", "50,4", "-i", json.dumps(config), "-o", str(a)]) == 0
    (tmp_path / "c.json").write_text(json.dumps(config))
    assert main(["init", "--shape", "50,4", "-i", f"@{tmp_path / 'c.json'}", "-o", str(b)]) == 0
    want = varinit.RandomNormal(1.0, 0.5, seed=3)((50, 4))
    assert np.array_equal(np.load(a), want) and np.array_equal(np.load(b), want)
    # --seed overrides the config's seed
    assert main(["init", "--shape", "50,4", "-i", json.dumps(config), "--seed", "9",
                 "-o", str(a), "--force"]) == 0
    assert np.array_equal(np.load(a), varinit.RandomNormal(1.0, 0.5, seed=9)((50, 4)))


def test_unseeded_prints_the_drawn_seed(tmp_path, capsys):
    out = tmp_path / "u.npy"
    assert main(["init", "--shape", "20,3", "-o", str(out)]) == 0
    seed = io.provenance(out)["tensors"]["weight"]["seed"]
    assert isinstance(seed, int) and f"seed={seed}" in capsys.readouterr().out
    assert np.array_equal(np.load(out), varinit.GlorotUniform(seed=seed)((20, 3)))


@pytest.mark.parametrize("argv, message", [
    (["init", "--shape", "10,-3", "-o", "{d}/t.npy"], "--shape"),
    (["init", "--shape", "ten", "-o", "{d}/t.npy"], "--shape"),
    (["init", "--shape", "10,3", "-i", "no_such_init", "-o", "{d}/t.npy"], "--initializer"),
    (["init", "--shape", "10,3", "-i", "{{bad json", "-o", "{d}/t.npy"], "JSON"),
    (["init", "--shape", "10,3", "-i", "@{d}/missing.json", "-o", "{d}/t.npy"], "cannot read"),
    # integer tables are for constant initializers (the default is glorot_uniform)
    (["init", "--shape", "10,3", "--dtype", "int8", "-o", "{d}/t.npy"], "cannot generate dtype int8"),
    (["init", "--shape", "10,3", "--dtype", "float7", "-o", "{d}/t.npy"], "--dtype"),
    (["init", "--shape", "10,3", "--dtype", "<f4" if sys.byteorder == "big" else ">f4",
      "-o", "{d}/t.npy"], "byte order"),
    (["init", "--shape", "10,3", "--seed", "-1", "-o", "{d}/t.npy"], "--seed"),
    (["init", "--shape", "10,3", "-o", "{d}/no/such/dir/t.npy"], "does not exist"),
    (["init", "--shape", "10,3", "-o", "{d}/t.bin"], ".npy or .safetensors"),
    (["init", "--shape", "4,4", "-i", "orthogonal", "-o", "{d}/t.npy"], "blockwise"),
    (["init", "--shape", "10,3"], "--out"),
    (["verify", "{d}/missing.npy"], "cannot verify"),
    (["frobnicate"], "invalid choice"),
    (["info", "--bogus"], "unrecognized"),
    (["demo", "extra"], "demo takes no arguments"),
])
def test_bad_arguments_exit_2_one_line(tmp_path, capsys, argv, message):
    argv = [a.format(d=tmp_path) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("varinit: error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert os.listdir(tmp_path) == []


def test_unwritable_folder_exit_2(tmp_path, capsys):
    if not hasattr(os, "geteuid") or os.geteuid() == 0:
        pytest.skip("needs a POSIX non-root user (root can write anywhere)")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        assert main(["init", "--shape", "3", "-o", str(folder / "t.npy")]) == 2
        assert "not writable" in capsys.readouterr().err
    finally:
        folder.chmod(0o700)


def test_not_enough_disk_exit_2(tmp_path, capsys, monkeypatch):
    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda p: real(p)._replace(free=10))
    assert main(["init", "--shape", "1000,1000", "-o", str(tmp_path / "t.npy")]) == 2
    err = capsys.readouterr().err
    assert "not enough free disk space" in err and err.count("\n") == 1
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("errno_, message", [(5, "Input/output error"),
                                             (28, "ran out of disk space")])
def test_write_failure_midway_exit_1(tmp_path, capsys, monkeypatch, errno_, message):
    real = _atomic.pwrite_all
    count = {"n": 0}

    def failing(fd, data, offset):
        count["n"] += 1
        if count["n"] > 1:                        # after the header
            raise OSError(errno_, os.strerror(errno_))
        return real(fd, data, offset)

    monkeypatch.setattr(_atomic, "pwrite_all", failing)
    assert main(["init", "--shape", "100,10", "-o", str(tmp_path / "t.npy")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("varinit: error: writing ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert os.listdir(tmp_path) == []


def test_internal_error_midway_is_not_a_usage_error(tmp_path, monkeypatch):
    """A bug while writing propagates (a traceback, exit 1), not 'bad arguments'."""
    def broken(*args, **kwargs):
        raise ValueError("internal bug")

    monkeypatch.setattr(_save, "stream_tensors", broken)
    with pytest.raises(ValueError, match="internal bug"):
        main(["init", "--shape", "100,10", "-o", str(tmp_path / "t.npy")])
    assert os.listdir(tmp_path) == []


def test_bad_arguments_subprocess_no_traceback(tmp_path):
    r = run("init", "--shape", "1,2", "--initializer", "nope", "--out", str(tmp_path / "t.npy"))
    assert r.returncode == 2
    assert r.stderr.startswith("varinit: error: ") and r.stderr.count("\n") == 1
    assert r.stdout == ""


def test_info(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert f"version: {varinit.__version__}" in out and "stream_version:" in out
    assert main(["info", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["stream_version"] == varinit.STREAM_VERSION


def test_bench_passes_its_arguments(monkeypatch):
    import varinit.benchmarks
    got = []
    monkeypatch.setattr(varinit.benchmarks, "run_bench", lambda argv: got.append(argv) or 0)
    assert main(["bench", "--quick", "-n", "3"]) == 0
    assert got == [["--quick", "-n", "3"]]


def test_no_arguments_runs_the_demo(monkeypatch):
    import varinit._demo
    called = []
    monkeypatch.setattr(varinit._demo, "run_demo", lambda: called.append(True))
    assert main([]) == 0 and called == [True]


def test_parse_shape():
    assert cli.parse_shape("1000000,128") == (1000000, 128)
    assert cli.parse_shape("1_000x128") == (1000, 128)
    assert cli.parse_shape("(3, 4, 5)") == (3, 4, 5)
    assert cli.parse_shape("7,") == (7,)
    assert cli.parse_shape("()") == ()
    for bad in ("1.5,2", "a", "3,,4", "-1", "", "  "):
        with pytest.raises(cli.UsageError):
            cli.parse_shape(bad)


def test_progress_flag_draws_a_bar(tmp_path, capsys):
    assert main(["init", "--shape", "1000,1000", "-o", str(tmp_path / "t.npy"), "--progress"]) == 0
    err = capsys.readouterr().err
    # 4,000,128 bytes: tqdm's "M" and "MB/s" are decimal, so the count must be too
    assert "100%" in err and "4.00M/4.00M" in err


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_exit_130_no_partial_file(tmp_path):
    n = 2 << 30                                       # 8 GiB: far longer than the test
    if shutil.disk_usage(tmp_path).free < n * 4 + (2 << 30):
        pytest.skip("needs 10 GiB of free disk space")
    out = tmp_path / "big.safetensors"
    proc = subprocess.Popen([sys.executable, "-m", "varinit", "init", "--shape", str(n),
                             "--seed", "1", "-o", str(out), "--no-progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not any(name.endswith(".partial") for name in os.listdir(tmp_path)):
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail(proc.communicate()[1])
        time.sleep(0.02)
    stdout, stderr, took = interrupt(proc, 0.5)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert took < 5.0
    assert os.listdir(tmp_path) == []


def test_verify_file_of_stream_version_1(tmp_path, capsys):
    """A file written by stream version 1 is reported as such, not as damaged."""
    out = tmp_path / "old.npy"
    varinit.save(out, varinit.GlorotNormal(seed=1), (64, 8))
    side = tmp_path / io.sidecar_path(out)
    record = json.loads(side.read_text())
    record["stream_version"] = 1
    side.write_text(json.dumps(record))
    assert main(["verify", str(out), "--no-progress"]) == 1
    text = capsys.readouterr().out
    assert "NOT CHECKED" in text and "written by stream version 1" in text
    assert "FAILED" not in text


def test_init_refuses_an_existing_file_unless_forced(tmp_path, capsys):
    out = tmp_path / "t.npy"
    base = ["init", "--shape", "64,8", "--seed", "1", "-o", str(out), "--no-progress"]
    assert main(base) == 0
    before = out.read_bytes()
    assert main(base[:4] + ["2"] + base[5:]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert out.read_bytes() == before                       # untouched
    assert main(base[:4] + ["2"] + base[5:] + ["--force"]) == 0
    assert out.read_bytes() != before
    varinit.verify(str(out))


def test_init_name_only_for_safetensors_and_no_empty_shape(tmp_path, capsys):
    out = tmp_path / "t.npy"
    assert main(["init", "--shape", "8", "-o", str(out), "--name", "emb", "--no-progress"]) == 2
    assert "--name" in capsys.readouterr().err and not out.exists()
    assert main(["init", "--shape", "", "-o", str(out), "--no-progress"]) == 2
    assert "empty --shape" in capsys.readouterr().err and not out.exists()


def test_save_overwrite_false(tmp_path):
    out = tmp_path / "t.npy"
    varinit.save(out, varinit.Ones(), (4,))
    with pytest.raises(FileExistsError):
        varinit.save(out, varinit.Zeros(), (4,), overwrite=False)
    assert np.load(out).tolist() == [1.0] * 4
    varinit.save(out, varinit.Zeros(), (4,))                # the default replaces, as numpy
    assert np.load(out).tolist() == [0.0] * 4


def test_a_target_without_storage_is_named_as_such(capsys):
    assert main(["init", "--shape", "4", "-o", "/proc/varinit-test.npy", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "without storage" in err and "disk space" not in err
