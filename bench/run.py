"""Run every benchmark in bench/ and print one JSON line per figure.

Each `bench/bench_*.py` module has a `run(report)` function; it measures and calls
`report(name=..., value=..., unit=..., baseline=..., baseline_value=..., **extra)` for each figure,
always with the baseline it was compared against in the same run (a reference implementation,
a plain render, or a target). `python bench/run.py NAME...` runs only the named modules.
"""

from __future__ import annotations

import importlib.util
import json
import platform
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def report(name: str, value: float, unit: str, baseline: str, baseline_value: float | None, **extra) -> None:
    """Print one figure as a JSON line."""
    line = {"name": name, "value": value, "unit": unit, "baseline": baseline, "baseline_value": baseline_value}
    line.update(extra)
    line["machine"] = f"{platform.machine()} {platform.python_implementation()} {platform.python_version()}"
    print(json.dumps(line), flush=True)


def main(names: list[str]) -> int:
    modules = sorted(BENCH_DIR.glob("bench_*.py"))
    if names:
        modules = [m for m in modules if m.stem.removeprefix("bench_") in names or m.stem in names]
    failed = 0
    for path in modules:
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        start = time.perf_counter()
        try:
            module.run(report)
        except Exception as error:  # noqa: BLE001 - one failing benchmark must not hide the others
            failed += 1
            print(json.dumps({"name": path.stem, "error": f"{type(error).__name__}: {error}"}), flush=True)
        print(f"# {path.stem}: {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
