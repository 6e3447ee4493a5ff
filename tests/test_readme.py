"""The README's Python blocks run as they are written, each in a fresh
interpreter in an empty folder, within a laptop's budget: under 256 MiB of
memory beyond what the block's imports cost (torch, jax and keras bring
150-300 MiB of their own) and under 256 MiB of disk.  numpy-only blocks stay
under 256 MiB of memory in all.  Blocks marked ``<!-- at scale -->`` (sizes
beyond a laptop) are only compiled.
"""
import ast
import json
import pathlib
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/status")

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
AT_SCALE = "<!-- at scale -->"
BUDGET = 256 * 2**20

# Runs the block's statements up to its last import, reads the peak resident
# size, runs the rest, reads it again; prints both as JSON.
# VmHWM, not getrusage: ru_maxrss survives exec, so a child of a big test
# process would report its parent's size.
RUNNER = r"""
import ast, json, sys
def peak_resident():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmHWM:"))
source = sys.stdin.read()
tree = ast.parse(source)
last_import = max(i for i, node in enumerate(tree.body)
                  if isinstance(node, (ast.Import, ast.ImportFrom)))
setup = ast.Module(tree.body[:last_import + 1], type_ignores=[])
rest = ast.Module(tree.body[last_import + 1:], type_ignores=[])
scope = {"__name__": "__main__"}
exec(compile(setup, "README", "exec"), scope)
after_imports = peak_resident()
exec(compile(rest, "README", "exec"), scope)
peak = peak_resident()
print(json.dumps({"after_imports": after_imports, "peak": peak}))
"""


def _blocks():
    if not README.exists():   # tests copied beside an installed wheel, without the README
        return []
    text = README.read_text(encoding="utf-8")
    blocks = []
    for match in re.finditer(r"^```python\n(.*?)^```$", text, re.S | re.M):
        before = text[:match.start()].rstrip().splitlines()
        at_scale = bool(before) and before[-1].strip() == AT_SCALE
        line = text.count("\n", 0, match.start()) + 1
        blocks.append(pytest.param(match.group(1), at_scale, id=f"line{line}"))
    return blocks


BLOCKS = _blocks()


def _imported_modules(source):
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.skipif(not README.exists(), reason="run from the source tree (README.md beside tests/)")
def test_the_readme_has_runnable_and_at_scale_blocks():
    kinds = [param.values[1] for param in BLOCKS]
    assert kinds.count(False) >= 5 and kinds.count(True) >= 1


@pytest.mark.parametrize("source, at_scale", BLOCKS)
def test_readme_block(source, at_scale, tmp_path):
    if at_scale:
        compile(source, "README", "exec")
        return
    proc = subprocess.run([sys.executable, "-c", RUNNER], input=source, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    memory = json.loads(proc.stdout.strip().splitlines()[-1])
    assert memory["peak"] - memory["after_imports"] < BUDGET, memory
    if _imported_modules(source) <= {"numpy", "varinit", "os"}:
        assert memory["peak"] < BUDGET, memory
    disk = sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file())
    assert disk < BUDGET, disk
