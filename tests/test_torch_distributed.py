"""varinit.torch.distribute over a real gloo job, and fill_shard_.

The distributed tests start WORLD processes of ``torch_dist_worker.py``
(gloo over loopback, a fresh port) once for the whole module; every worker
runs all the cases and writes a JSON report, and each test below asserts on
one kind of check in those reports.  Any worker failing, hanging past
TIMEOUT or reporting a mismatch fails the tests with the workers' stderr.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import varinit  # noqa: E402
import varinit.torch as vt  # noqa: E402
from torch_dist_worker import _same  # noqa: E402  (the workers' bit-exact comparison)

WORKER = Path(__file__).with_name("torch_dist_worker.py")
WORLD = 4
TIMEOUT = 120  # seconds, for the whole job




# ---------------------------------------------------------------------------
# the gloo job
# ---------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _kill(procs) -> None:
    for proc in procs:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)   # its own session: the worker and its children
            except ProcessLookupError:
                pass
    for proc in procs:
        proc.wait()


def _launch(tmp: Path) -> tuple[list[int | None], list[str], bool]:
    """Run the job once: (return codes, stderr texts, timed out)."""
    port = _free_port()
    procs, errs = [], []
    for rank in range(WORLD):
        env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                   LOCAL_RANK=str(rank), WORLD_SIZE=str(WORLD), OMP_NUM_THREADS="1",
                   VARINIT_NUM_THREADS="1")
        if Path("/sys/class/net/lo").exists():
            env.setdefault("GLOO_SOCKET_IFNAME", "lo")
        err = open(tmp / f"rank{rank}.err", "w+")
        errs.append(err)
        procs.append(subprocess.Popen([sys.executable, str(WORKER), str(tmp / f"rank{rank}.json")],
                                      env=env, stdout=err, stderr=subprocess.STDOUT,
                                      start_new_session=True))
    deadline = time.monotonic() + TIMEOUT
    timed_out = False
    try:
        while any(p.poll() is None for p in procs):
            if any(p.returncode not in (None, 0) for p in procs):
                break   # one rank died: the others would only wait for it
            if time.monotonic() > deadline:
                timed_out = True
                break
            time.sleep(0.05)
    finally:
        _kill(procs)
    texts = []
    for err in errs:
        err.seek(0)
        texts.append(err.read())
        err.close()
    return [p.returncode for p in procs], texts, timed_out


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    dist = pytest.importorskip("torch.distributed")
    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("torch.distributed with gloo is not available")
    for attempt in range(2):   # the free port may be taken before rank 0 binds it
        tmp = tmp_path_factory.mktemp("gloo")
        started = time.monotonic()
        codes, errs, timed_out = _launch(tmp)
        if all(code == 0 for code in codes) or not any("ddress already in use" in e for e in errs):
            break
    elapsed = time.monotonic() - started
    log = "\n".join(f"--- rank {rank} (exit {code}) ---\n{err[-6000:]}"
                    for rank, (code, err) in enumerate(zip(codes, errs)))
    if timed_out:
        pytest.fail(f"the gloo job did not finish in {TIMEOUT} s; killed\n{log}")
    if any(code != 0 for code in codes):
        pytest.fail(f"a worker failed\n{log}")
    out = [json.loads((tmp / f"rank{rank}.json").read_text()) for rank in range(WORLD)]
    for rank, report in enumerate(out):
        report["log"] = errs[rank]
    out[0]["elapsed"] = elapsed
    return out


def _assert_kind(reports, kind: str, at_least: int) -> None:
    failures = [f for r in reports for f in r["failures"] if f.split(": ")[1] == kind]
    assert not failures, "\n".join(failures[:40])
    for r in reports:
        assert r["passed"][kind] == r["planned"][kind] >= at_least, (r["rank"], r["planned"])


def test_no_failure_of_any_kind(reports):
    failures = [f for r in reports for f in r["failures"]]
    assert not failures, "\n".join(failures[:40])


def test_layout_is_torchs(reports):
    # shapes, placements, strides and the local regions are those of
    # torch's own distribute_tensor
    _assert_kind(reports, "layout", 300)


def test_local_shard_is_the_unsharded_region(reports):
    _assert_kind(reports, "local", 300)


def test_full_tensor_over_gloo_is_the_unsharded_tensor(reports):
    _assert_kind(reports, "full", 100)


def test_errors(reports):
    _assert_kind(reports, "errors", 10)


# the split sizes, stated here independently of torch and of varinit
EXPECTED_SHAPES = {
    "1d|(10, 6)|S0": [[3, 6], [3, 6], [3, 6], [1, 6]],
    "1d|(5, 6)|S0": [[2, 6], [2, 6], [1, 6], [0, 6]],
    "1d|(3, 6)|S0": [[1, 6], [1, 6], [1, 6], [0, 6]],
    "1d|(2, 6)|S0": [[1, 6], [1, 6], [0, 6], [0, 6]],
    "1d|(6, 10)|S1": [[6, 3], [6, 3], [6, 3], [6, 1]],
    "1d|(6, 3)|S1": [[6, 1], [6, 1], [6, 1], [6, 0]],
    "1d|(6, 10)|S-1": [[6, 3], [6, 3], [6, 3], [6, 1]],
    "1d|(10, 6)|R": [[10, 6]] * 4,
    "1d|(9, 5, 7)|S1": [[9, 2, 7], [9, 2, 7], [9, 1, 7], [9, 0, 7]],
    "1d|(0, 6)|S0": [[0, 6]] * 4,
    "1d|(13,)|S0": [[4], [4], [4], [1]],
    "2d|(10, 7)|S0,S1": [[5, 4], [5, 3], [5, 4], [5, 3]],
    "2d|(10, 7)|S1,S0": [[5, 4], [5, 4], [5, 3], [5, 3]],
    "2d|(10, 7)|S0,S0": [[3, 7], [2, 7], [3, 7], [2, 7]],
    "2d|(7, 9)|S0,S0": [[2, 9], [2, 9], [2, 9], [1, 9]],
    "2d|(3, 5)|S0,S0": [[1, 5], [1, 5], [1, 5], [0, 5]],
    "2d|(5, 11)|S1,S1": [[5, 3], [5, 3], [5, 3], [5, 2]],
    "2d|(10, 7)|R,S1": [[10, 4], [10, 3], [10, 4], [10, 3]],
    "2d|(3, 1)|S1,S0": [[2, 1], [1, 1], [2, 0], [1, 0]],
    "sub|(10, 6)|S0": [[4, 6], [4, 6], [2, 6], [0]],   # rank 3 is outside the mesh
}


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("init", ["RandomNormal(seed=1)", "TruncatedNormal(stddev=0.02, seed=5)"])
def test_uneven_split_sizes(reports, init, dtype):
    for case, expected in EXPECTED_SHAPES.items():
        key = f"{init}|{dtype}|{case}"
        assert [r["local_shapes"].get(key) for r in reports] == expected, key


def test_fan_based_initializer_ran_on_every_mesh(reports):
    keys = [k for k in reports[0]["local_shapes"] if k.startswith("GlorotUniform")]
    for mesh in ("1d", "2d", "sub"):
        for dtype in ("float32", "bfloat16"):
            assert any(f"|{dtype}|{mesh}|" in k for k in keys), (mesh, dtype)


def test_job_time(reports):
    # not a benchmark: a bound that catches a hang-until-timeout in a collective
    assert reports[0]["elapsed"] < TIMEOUT


# ---------------------------------------------------------------------------
# fill_shard_, in process
# ---------------------------------------------------------------------------

FILL_INITS = [varinit.GlorotUniform(seed=3, layout="torch"),
              varinit.TruncatedNormal(stddev=0.02, seed=5), varinit.RandomNormal(seed=1)]


def _tiles(total: int, cuts: list[int]) -> list[tuple[int, int]]:
    edges = [0, *cuts, total]
    return list(zip(edges[:-1], edges[1:]))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float64],
                         ids=str)
@pytest.mark.parametrize("init", FILL_INITS, ids=lambda i: type(i).__name__)
def test_fill_shard_reassembles(init, dtype):
    shape = (13, 9, 5)
    full = init(out=torch.empty(shape, dtype=dtype))
    assembled = torch.full(shape, float("nan"), dtype=dtype)
    row_tiles = _tiles(13, [1, 1, 6, 12])     # includes an empty tile [1, 1)
    col_tiles = _tiles(9, [4, 5])
    dep_tiles = _tiles(5, [2])
    for r0, r1 in row_tiles:
        for c0, c1 in col_tiles:
            for d0, d1 in dep_tiles:
                shard = torch.empty((r1 - r0, c1 - c0, d1 - d0), dtype=dtype)
                out = vt.fill_shard_(shard, init, shape, (r0, c0, d0))
                assert out is shard
                assert _same(shard, full[r0:r1, c0:c1, d0:d1]), (r0, c0, d0)
                assembled[r0:r1, c0:c1, d0:d1] = shard
    assert _same(assembled, full)


@pytest.mark.parametrize("init", FILL_INITS, ids=lambda i: type(i).__name__)
def test_fill_shard_2d_rows_and_arbitrary_boxes(init):
    shape = (10, 8)
    full = init(out=torch.empty(shape))
    for offsets, size in [((4, 0), (2, 8)), ((0, 0), (10, 8)), ((9, 7), (1, 1)),
                          ((3, 5), (6, 3)), ((10, 0), (0, 8)), ((0, 8), (10, 0))]:
        shard = vt.fill_shard_(torch.empty(size), init, shape, offsets)
        box = tuple(slice(o, o + n) for o, n in zip(offsets, size))
        assert _same(shard, full[box]), offsets
    # a shard is not the tensor of its own shape: fans and positions are global
    alone = init(out=torch.empty(2, 8))
    assert not _same(vt.fill_shard_(torch.empty(2, 8), init, shape, (4, 0)), alone)


SENTINEL = 7.25


@pytest.mark.parametrize("size, offsets", [
    ((2, 8), (9, 0)),      # past the end of axis 0
    ((2, 8), (-1, 0)),     # negative
    ((2, 8), (0, 1)),      # axis 1 overflows
    ((11, 8), (0, 0)),     # bigger than the global tensor
    ((1, 1), (0, 8)),      # starts at the end, not empty
    ((2, 8), (0,)),        # too few offsets
    ((2, 8), (0, 0, 0)),   # too many offsets
    ((2, 8, 1), (0, 0)),   # shard of another rank
    ((16,), (0, 0)),
])
def test_fill_shard_rejects_bad_boxes_untouched(size, offsets):
    init = varinit.RandomNormal(seed=1)
    shard = torch.full(size, SENTINEL)
    with pytest.raises(ValueError):
        vt.fill_shard_(shard, init, (10, 8), offsets)
    assert torch.equal(shard, torch.full(size, SENTINEL))


@pytest.mark.parametrize("init", [varinit.RandomNormal(), varinit.GlorotUniform(layout="torch")],
                         ids=lambda i: type(i).__name__)
def test_fill_shard_rejects_unseeded_untouched(init):
    shard = torch.full((2, 8), SENTINEL)
    with pytest.raises(ValueError, match="seed"):
        vt.fill_shard_(shard, init, (10, 8), (0, 0))
    assert torch.equal(shard, torch.full((2, 8), SENTINEL))
