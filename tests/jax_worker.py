"""Subprocess worker of tests/test_jax.py (JAX must see fake devices or a cluster
before it initialises, so these checks cannot run in the pytest process).

    XLA_FLAGS=--xla_force_host_platform_device_count=4 python tests/jax_worker.py devices
    python tests/jax_worker.py cluster ID N PORT ROWS COLS

``devices`` checks sharded == unsharded on 4 fake CPU devices (varinit.jax.sharded
and out_sharding, eager and under jit) and prints ``OK``; ``cluster`` is one
process of an N-process ``jax.distributed`` CPU cluster on loopback: it builds
its shard of a ROWS×COLS float32 table, checks it against ``block`` and prints
a JSON line with its peak resident memory.
"""
from __future__ import annotations

import json
import resource
import sys


def devices() -> None:
    import jax
    import numpy as np
    from jax.sharding import NamedSharding, PartitionSpec as P

    import varinit
    import varinit.jax as vj

    assert jax.device_count() == 4, jax.devices()
    line = jax.make_mesh((4,), ("x",))
    square = jax.make_mesh((2, 2), ("a", "b"))
    shardings = {
        "rows": NamedSharding(line, P("x", None)),
        "columns": NamedSharding(line, P(None, "x")),
        "2-D": NamedSharding(square, P("a", "b")),
        "2-D transposed": NamedSharding(square, P("b", "a")),
        "rows over both axes": NamedSharding(square, P(("b", "a"), None)),
        "replicated": NamedSharding(line, P()),
        "half replicated": NamedSharding(square, P(None, "b")),
    }
    shape = (64, 48)
    failures = []

    def check(label, array, expected, sharding):
        if not np.array_equal(np.asarray(array).view(np.uint8), expected.view(np.uint8)):
            failures.append(f"{label}: values differ")
        if not array.sharding.is_equivalent_to(sharding, len(shape)):
            failures.append(f"{label}: sharding {array.sharding} is not {sharding}")

    for dtype in ("float32", "bfloat16"):
        for init in (varinit.TruncatedNormal(stddev=0.02, seed=3),
                     varinit.GlorotUniform(seed=4), varinit.RandomNormal(seed=5)):
            full = init(shape, dtype)
            for label, sharding in shardings.items():
                check(f"sharded {type(init).__name__} {dtype} {label}",
                      vj.sharded(init, shape, sharding, dtype), full, sharding)
        key = jax.random.key(11)
        for name, jinit in (("lecun_normal", vj.lecun_normal()), ("normal", vj.normal(0.5)),
                            ("uniform", vj.uniform()),
                            ("truncated_normal", vj.truncated_normal(1.0))):
            full = np.asarray(jinit(key, shape, dtype))
            for label, sharding in shardings.items():
                check(f"{name} {dtype} out_sharding={label}",
                      jinit(key, shape, dtype, out_sharding=sharding), full, sharding)
                jitted = jax.jit(lambda k: jinit(k, shape, dtype, out_sharding=sharding))
                check(f"jit {name} {dtype} out_sharding={label}", jitted(key), full, sharding)
        with jax.set_mesh(line):
            full = np.asarray(vj.he_uniform()(key, shape, dtype))
            spec = P("x")
            check(f"PartitionSpec under set_mesh {dtype}",
                  vj.he_uniform()(key, shape, dtype, out_sharding=spec), full, shardings["rows"])
            check(f"jit PartitionSpec under set_mesh {dtype}",
                  jax.jit(lambda k: vj.he_uniform()(k, shape, dtype, out_sharding=spec))(key),
                  full, shardings["rows"])
    # under jit each device's callback generates its own shard only
    import varinit.jax as module
    seen = []
    original = module._Recipe.block

    def recording(self, seed, index):
        seen.append(tuple((s.start, s.stop) for s in index))
        return original(self, seed, index)

    module._Recipe.block = recording
    try:
        jax.jit(lambda k: vj.lecun_normal()(k, shape, out_sharding=shardings["2-D"]))(
            jax.random.key(12)).block_until_ready()
    finally:
        module._Recipe.block = original
    if sorted(seen) != [((0, 32), (0, 24)), ((0, 32), (24, 48)), ((32, 64), (0, 24)),
                        ((32, 64), (24, 48))]:
        failures.append(f"jit out_sharding generated the boxes {sorted(seen)}")
    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print("OK")


def cluster(process_id: int, processes: int, port: int, rows: int, cols: int) -> None:
    import jax
    jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}",
                               num_processes=processes, process_id=process_id,
                               initialization_timeout=120)
    import numpy as np
    from jax.sharding import NamedSharding, PartitionSpec as P

    import varinit
    import varinit.jax as vj

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    mesh = jax.make_mesh((jax.device_count(),), ("x",))
    init = varinit.RandomNormal(stddev=0.01, seed=7)
    table = vj.sharded(init, (rows, cols), NamedSharding(mesh, P("x", None)))
    table.block_until_ready()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    shards = table.addressable_shards
    ok = True
    for shard in shards:
        local = np.asarray(shard.data)
        start = shard.index[0].start or 0
        # spot-check rows against the block protocol (cheap: a few rows, not the shard)
        for row in (0, local.shape[0] // 2, local.shape[0] - 1):
            expected = init.rows((rows, cols), [start + row])[0]
            ok &= bool(np.array_equal(local[row], expected))
    print(json.dumps({"process": process_id, "devices": jax.device_count(),
                      "local_devices": jax.local_device_count(),
                      "shards": [[s.index[0].start, s.index[0].stop] for s in shards],
                      "shard_bytes": sum(s.data.nbytes for s in shards),
                      "rss_before_bytes": before, "peak_rss_bytes": peak, "ok": ok}),
          flush=True)
    jax.distributed.shutdown()


if __name__ == "__main__":
    if sys.argv[1] == "devices":
        devices()
    else:
        cluster(*(int(a) for a in sys.argv[2:7]))
