"""A benchmark script run on two revisions side by side, alternating, in one run.

    python benchmarks/compare_revisions.py BASE [--rounds 3] -- benchmarks/twin.py --drones 256

Checks ``BASE`` (any git revision, e.g. ``HEAD~3``) out into a temporary worktree and runs the
given benchmark script there and in this checkout, in turns (base, this, base, this, ...), each
in a fresh process whose ``spikefly`` is imported from its own tree and whose Numba cache starts
empty (after one warm-up run per tree). Every number the script prints is collected by line; the
table gives, per line, the median of each tree and the ratio this/base. On a shared machine one
run's absolute times move 2x; alternating rounds put both trees under the same load.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NUMBER = re.compile(r"-?\d[\d,]*\.?\d*(?:e[-+]?\d+)?")


def run(tree: Path, script: list[str], cache: Path) -> list[tuple[str, list[float]]]:
    """The script's output lines, each as (its text with numbers blanked, its numbers)."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "PYTHONPATH": str(tree / "src-link")}
    done = subprocess.run([sys.executable, *script], cwd=tree, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{script[0]} failed in {tree}:\n{done.stderr[-2000:]}")
    lines = []
    for line in done.stdout.splitlines():
        numbers = [float(text.replace(",", "")) for text in NUMBER.findall(line)]
        if numbers:
            lines.append((NUMBER.sub("#", line).strip(), numbers))
    return lines


def package_link(tree: Path) -> None:
    """``tree/src-link/spikefly`` -> the tree itself (the checkout's folders are the package's subpackages)."""
    link = tree / "src-link"
    link.mkdir(exist_ok=True)
    if not (link / "spikefly").exists():
        (link / "spikefly").symlink_to(tree, target_is_directory=True)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if "--" not in argv:
        raise SystemExit("usage: compare_revisions.py BASE [--rounds N] -- SCRIPT [ARGS...]")
    split = argv.index("--")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("base", help="git revision to compare this checkout with")
    parser.add_argument("--rounds", type=int, default=3, help="measured runs per tree (default: 3)")
    args = parser.parse_args(argv[:split])
    script = argv[split + 1:]
    scratch = Path(tempfile.mkdtemp(prefix="spikefly-compare-"))
    base = scratch / "base"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base), args.base], check=True,
                   capture_output=True)
    try:
        trees = {"base": base, "this": ROOT}
        for tree in trees.values():
            package_link(tree)
        caches = {name: scratch / f"cache-{name}" for name in trees}
        for name, tree in trees.items():  # warm-up: compile into each tree's own cache
            run(tree, script, caches[name])
        results: dict[str, list[list[tuple[str, list[float]]]]] = {name: [] for name in trees}
        for _ in range(args.rounds):
            for name, tree in trees.items():
                results[name].append(run(tree, script, caches[name]))
        print(f"{' '.join(script)}: median of {args.rounds} alternating runs; base = {args.base}")
        for index, (text, numbers) in enumerate(results["this"][0]):
            for position in range(len(numbers)):
                medians = {}
                for name in trees:
                    values = [r[index][1][position] for r in results[name] if index < len(r) and len(r[index][1]) > position]
                    medians[name] = statistics.median(values) if values else float("nan")
                ratio = medians["this"] / medians["base"] if medians["base"] else float("nan")
                print(f"  {text[:70]:<70} [{position}] base {medians['base']:>12.4g}  this {medians['this']:>12.4g}  "
                      f"this/base {ratio:5.2f}")
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=False, capture_output=True)
        shutil.rmtree(ROOT / "src-link", ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
