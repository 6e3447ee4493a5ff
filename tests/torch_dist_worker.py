"""One rank of the gloo job that tests/test_torch_distributed.py starts.

Run as ``python torch_dist_worker.py REPORT.json`` with MASTER_ADDR,
MASTER_PORT, RANK and WORLD_SIZE (4) set.  Every rank runs the same cases
in the same order (so the collectives line up) and writes a JSON report:
how many checks of each kind it planned and passed, and every mismatch.
A mismatch is recorded and the run goes on; an unexpected exception ends
the process with a traceback and a non-zero status.

For each initializer and dtype, and each (mesh, shape, placements) case:

* ``layout``: ``distribute(...).to_local()`` has the shape and holds the
  region of the global tensor that torch's own
  ``distribute_tensor(full, mesh, placements).to_local()`` gives (the region
  is found by distributing a tensor of flat indices), and the DTensor's
  global metadata (shape, stride, placements, dtype) is torch's;
* ``local``: that local shard equals, bit for bit, the same region of the
  unsharded ``init(shape, dtype)`` generated here, and equals torch's local
  shard of the distributed full tensor;
* ``full``: ``dt.full_tensor()`` (an all-gather over gloo) equals the
  unsharded tensor bit for bit;
* ``errors``: Partial placements, a wrong number of placements and
  unseeded initializers raise ValueError.
"""
from __future__ import annotations

import json
import os
import sys
import time
import traceback
from datetime import timedelta

import torch
import torch.distributed as dist
from torch.distributed.device_mesh import DeviceMesh, init_device_mesh
from torch.distributed.tensor import Partial, Replicate, Shard, distribute_tensor

import varinit
import varinit.torch as vt

WORLD = 4
FAILURES: list[str] = []   # the mismatches so far, printed too if a case raises

INITS = [
    ("GlorotUniform(seed=3, layout='torch')", varinit.GlorotUniform(seed=3, layout="torch")),
    ("TruncatedNormal(stddev=0.02, seed=5)", varinit.TruncatedNormal(stddev=0.02, seed=5)),
    ("RandomNormal(seed=1)", varinit.RandomNormal(seed=1)),
]
DTYPES = [torch.float32, torch.bfloat16]

# (mesh name, global shape, placements); mesh "1d" is 4 ranks, "2d" is 2 x 2,
# "sub" is a 1-D mesh of ranks 0-2 only (rank 3 holds no shard)
CASES = [
    ("1d", (10, 6), (Shard(0),)),           # 3, 3, 3, 1
    ("1d", (5, 6), (Shard(0),)),            # 2, 2, 1, 0: an empty shard
    ("1d", (3, 6), (Shard(0),)),            # fewer rows than ranks: 1, 1, 1, 0
    ("1d", (2, 6), (Shard(0),)),            # 1, 1, 0, 0
    ("1d", (8, 6), (Shard(0),)),            # even
    ("1d", (6, 10), (Shard(1),)),           # 3, 3, 3, 1 columns
    ("1d", (6, 3), (Shard(1),)),            # 1, 1, 1, 0 columns
    ("1d", (7, 12), (Shard(1),)),           # even
    ("1d", (6, 10), (Shard(-1),)),          # a negative dim
    ("1d", (10, 6), (Replicate(),)),
    ("1d", (9, 5, 7), (Shard(1),)),         # rank 3: 2, 2, 1, 0 in the middle dim
    ("1d", (9, 5, 7), (Shard(2),)),
    ("1d", (0, 6), (Shard(0),)),            # nothing at all
    ("1d", (13,), (Shard(0),)),             # 1-D (not for fan-based initializers)
    ("2d", (10, 7), (Shard(0), Shard(1))),
    ("2d", (10, 7), (Shard(1), Shard(0))),
    ("2d", (10, 7), (Shard(0), Shard(0))),  # nested split: 5 | 5, then 3 | 2
    ("2d", (7, 9), (Shard(0), Shard(0))),   # 4 | 3, then 2 | 2 and 2 | 1
    ("2d", (3, 5), (Shard(0), Shard(0))),   # 2 | 1, then 1 | 1 and 1 | 0
    ("2d", (5, 11), (Shard(1), Shard(1))),  # 6 | 5, then 3 | 3 and 3 | 2
    ("2d", (10, 7), (Replicate(), Shard(1))),
    ("2d", (10, 7), (Shard(0), Replicate())),
    ("2d", (10, 7), (Replicate(), Replicate())),
    ("2d", (3, 1), (Shard(1), Shard(0))),   # one column over two ranks
    ("2d", (6, 5, 4), (Shard(2), Shard(0))),
    ("sub", (10, 6), (Shard(0),)),          # 4, 4, 2 and rank 3 outside the mesh
]


def _bits(t: torch.Tensor) -> torch.Tensor:
    t = t.contiguous()
    return t.view({2: torch.int16, 4: torch.int32, 8: torch.int64}[t.element_size()])


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return (tuple(a.shape) == tuple(b.shape) and a.dtype == b.dtype
            and torch.equal(_bits(a), _bits(b)))


def _applies(init, shape) -> bool:
    return not (isinstance(init, varinit.GlorotUniform) and len(shape) < 2)


def _spec(placements) -> str:
    """The report's key for placements, e.g. "S0,R" for (Shard(0), Replicate())."""
    return ",".join(f"S{p.dim}" if isinstance(p, Shard) else "R" for p in placements)


def _norm(placements, ndim):
    return tuple(Shard(p.dim % ndim) if isinstance(p, Shard) else p for p in placements)


def main(report_path: str) -> int:
    t0 = time.perf_counter()
    rank = int(os.environ["RANK"])
    world = int(os.environ["WORLD_SIZE"])
    assert world == WORLD, world
    dist.init_process_group("gloo", rank=rank, world_size=world, timeout=timedelta(seconds=60))
    meshes = {
        "1d": init_device_mesh("cpu", (WORLD,)),
        "2d": init_device_mesh("cpu", (2, 2), mesh_dim_names=("a", "b")),
        "sub": DeviceMesh("cpu", [0, 1, 2]),
    }
    planned = {"layout": 0, "local": 0, "full": 0, "errors": 0}
    passed = dict.fromkeys(planned, 0)
    failures = FAILURES
    local_shapes = {}

    def check(kind: str, ok: bool, what: str) -> None:
        planned[kind] += 1
        if ok:
            passed[kind] += 1
        else:
            failures.append(f"rank {rank}: {kind}: {what}")

    for name, init in INITS:
        for dtype in DTYPES:
            for mesh_name, shape, placements in CASES:
                if not _applies(init, shape):
                    continue
                mesh = meshes[mesh_name]
                what = f"{name} {dtype} mesh {mesh_name} shape {shape} {placements}"
                member = mesh.get_coordinate() is not None
                full = init(out=torch.empty(shape, dtype=dtype))      # unsharded, here
                flat = torch.arange(full.numel(), dtype=torch.int64).reshape(shape)
                dt = vt.distribute(init, shape, mesh, placements, dtype=dtype)
                # torch's own layout (src_data_rank=None: each rank splits its copy)
                theirs = distribute_tensor(full, mesh, placements, src_data_rank=None)
                where = distribute_tensor(flat, mesh, placements, src_data_rank=None).to_local()
                mine = dt.to_local()
                key = f"{name}|{str(dtype).split('.')[-1]}|{mesh_name}|{shape}|{_spec(placements)}"
                local_shapes[key] = list(mine.shape)
                # layout: the global metadata, and the local shape / region torch gives
                check("layout", tuple(dt.shape) == shape and dt.stride() == full.stride()
                      and dt.dtype == dtype and dt.device_mesh is mesh
                      and tuple(dt.placements) == _norm(placements, len(shape))
                      and tuple(dt.placements) == tuple(theirs.placements),
                      f"{what}: DTensor metadata {tuple(dt.shape)} {dt.stride()} {dt.dtype} "
                      f"{dt.placements}, torch's {theirs.placements}")
                check("layout", tuple(mine.shape) == tuple(where.shape)
                      and tuple(mine.shape) == tuple(theirs.to_local().shape)
                      and mine.is_contiguous(),
                      f"{what}: local shape {tuple(mine.shape)}, torch's "
                      f"{tuple(theirs.to_local().shape)}")
                if where.numel():
                    # the region is a box; its corner is the first element's index
                    corner = torch.unravel_index(where.reshape(-1)[0], shape)
                    box = tuple(slice(int(c), int(c) + n) for c, n in zip(corner, where.shape))
                    check("layout", torch.equal(where, flat[box]),
                          f"{what}: torch's local region is not the box {box}")
                    check("local", _same(mine, full[box]),
                          f"{what}: local shard != unsharded[{box}]")
                else:
                    check("local", mine.numel() == 0, f"{what}: local shard should be empty")
                check("local", _same(mine, full.reshape(-1)[where.reshape(-1)].reshape(where.shape)),
                      f"{what}: local shard != torch's region of the unsharded tensor")
                check("local", _same(mine, theirs.to_local()),
                      f"{what}: local shard != distribute_tensor(full).to_local()")
                if member:
                    gathered = dt.full_tensor()
                    check("full", _same(gathered, full),
                          f"{what}: full_tensor() != unsharded (shape {tuple(gathered.shape)})")
        # the default dtype
        dt = vt.distribute(init, (10, 6), meshes["1d"], [Shard(0)])
        full = init(out=torch.empty((10, 6), dtype=torch.get_default_dtype()))
        check("full", dt.dtype == torch.get_default_dtype() and _same(dt.full_tensor(), full),
              f"{name}: dtype=None")

    # errors: every rank raises before any communication
    def raises(call, what):
        try:
            call()
        except ValueError:
            check("errors", True, what)
        except Exception as exc:   # noqa: BLE001 - recorded
            check("errors", False, f"{what}: {type(exc).__name__}: {exc}")
        else:
            check("errors", False, f"{what}: no ValueError")

    seeded = varinit.RandomNormal(seed=1)
    m1, m2 = meshes["1d"], meshes["2d"]
    raises(lambda: vt.distribute(seeded, (8, 4), m1, [Partial()]), "Partial() on 1-D mesh")
    raises(lambda: vt.distribute(seeded, (8, 4), m1, [Partial("max")]), "Partial('max')")
    raises(lambda: vt.distribute(seeded, (8, 4), m2, [Shard(0), Partial()]),
           "(Shard(0), Partial()) on 2-D mesh")
    raises(lambda: vt.distribute(seeded, (8, 4), m2, [Partial(), Replicate()]),
           "(Partial(), Replicate()) on 2-D mesh")
    raises(lambda: vt.distribute(seeded, (8, 4), m1, [Shard(0), Shard(1)]),
           "two placements on a 1-D mesh")
    raises(lambda: vt.distribute(seeded, (8, 4), m1, []), "no placements on a 1-D mesh")
    raises(lambda: vt.distribute(seeded, (8, 4), m2, [Shard(0)]), "one placement on a 2-D mesh")
    raises(lambda: vt.distribute(seeded, (8, 4), m2, [Shard(0), Shard(1), Replicate()]),
           "three placements on a 2-D mesh")
    raises(lambda: vt.distribute(varinit.RandomNormal(), (8, 4), m1, [Shard(0)]),
           "unseeded RandomNormal()")
    raises(lambda: vt.distribute(varinit.GlorotUniform(layout="torch"), (8, 4), m2,
                                 [Shard(0), Shard(1)]), "unseeded GlorotUniform")

    # every rank must have seen the same layouts of the same cases
    everyone = [None] * world
    dist.all_gather_object(everyone, sorted(local_shapes))
    check("layout", all(keys == everyone[0] for keys in everyone), "ranks ran different cases")
    seconds = time.perf_counter() - t0
    dist.barrier()
    dist.destroy_process_group()
    with open(report_path, "w") as f:
        json.dump({"rank": rank, "planned": planned, "passed": passed, "failures": failures,
                   "local_shapes": local_shapes, "seconds": seconds,
                   "torch": torch.__version__}, f, indent=1)
    return 0


if __name__ == "__main__":
    try:
        status = main(sys.argv[1])
    except BaseException:
        if FAILURES:
            print("mismatches before the exception:", *FAILURES[:20], sep="\n", file=sys.stderr)
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)   # do not wait in atexit / destroy_process_group for peers
    sys.exit(status)
