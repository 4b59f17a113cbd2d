"""Synthetic patient: wall time and peak memory of one default patient (1 mm isotropic) and of
a fine one (0.7 x 0.7 x 1.0 mm), each in a fresh process. Target (issue 3): under 20 s and 2 GB
for the default patient on 2 cores."""

from __future__ import annotations

import json
import subprocess
import sys

CHILD = """
import json, resource, time, warnings
warnings.simplefilter("ignore")
from kambin.phantom import make_patient
start = time.perf_counter()
p = make_patient(0, spacing_mm={spacing})
elapsed = time.perf_counter() - start
print(json.dumps({{"seconds": elapsed, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
                   "shape": list(p.ct.shape_ijk)}}))
"""


def _measure(spacing: tuple[float, float, float]) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD.format(spacing=spacing)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(report) -> None:
    for name, spacing in (("default", (1.0, 1.0, 1.0)), ("fine", (0.7, 0.7, 1.0))):
        m = _measure(spacing)
        extra = {"spacing_mm": list(spacing), "shape_ijk": m["shape"]}
        report(
            name=f"phantom_{name}_seconds",
            value=round(m["seconds"], 2),
            unit="s",
            baseline="target",
            baseline_value=20.0,
            **extra,
        )
        report(
            name=f"phantom_{name}_peak_memory",
            value=round(m["peak_mb"], 1),
            unit="MB",
            baseline="target",
            baseline_value=2048.0,
            **extra,
        )
