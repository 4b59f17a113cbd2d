"""Registration accuracy and speed: surface ICP on the synthetic patient against paired points.

ICP: 100 seeded starts 10 mm and 10 degrees off, 0.25 mm RMS tracker noise on the traced points
(L3-L5 posterior elements, 16 strokes); TRE at the L4-L5 disc's posterior margin. Baseline in the
same run: paired-point registration from 4 landmarks touched with the same tracker noise
(spinous process tips of L3 and L5, left and right L4 superior articular process tips), its TRE
at the same target, measured over the same 100 seeds.
"""

from __future__ import annotations

import time

import numpy as np


def run(report) -> None:
    from kambin.geometry.transforms import apply_transform, from_axis_angle, invert
    from kambin.phantom import make_patient
    from kambin.registration import register_paired_points
    from kambin.registration.phantom_trace import dorsal_exposure
    from kambin.registration.trace import icp_trials
    from kambin.tracking.simulated import NoiseModel

    patient = make_patient(0)
    surface, exposed, basis = dorsal_exposure(patient)
    level = patient.truth.levels["L4-L5"]
    target = np.array(level.disc.posterior_margin_lps_mm)
    result = icp_trials(surface, exposed, basis, target, n_trials=100, seed=0)
    tre = result["tre_mm"][:, 0]

    vertebrae = patient.truth.vertebrae
    landmarks = np.array(
        [
            vertebrae["L3"].spinous_process_tip_lps_mm,
            vertebrae["L5"].spinous_process_tip_lps_mm,
            vertebrae["L4"].superior_articular_process_tip_lps_mm["left"],
            vertebrae["L4"].superior_articular_process_tip_lps_mm["right"],
        ]
    )
    rng = np.random.default_rng(0)
    noise = NoiseModel(position_rms_mm=0.25)
    paired = []
    for _ in range(100):
        truth = from_axis_angle(rng.normal(0, 1.0, 3), rng.normal(0, 200, 3))
        touched = noise.perturb_points(apply_transform(invert(truth), landmarks), rng)
        estimate = register_paired_points(landmarks, touched).moving_to_fixed
        paired.append(np.linalg.norm(apply_transform(estimate, apply_transform(invert(truth), target)) - target))
    paired = np.array(paired)
    finite = tre[np.isfinite(tre)]
    for q in (50, 95):
        report(
            name=f"icp_tre_p{q}_l4l5_disc",
            value=float(np.percentile(tre, q)),
            unit="mm",
            baseline="paired-point, 4 landmarks, same noise",
            baseline_value=float(np.percentile(paired, q)),
            refused=len(result["refusals"]),
        )
    report(
        name="icp_tre_max_accepted",
        value=float(finite.max()) if len(finite) else None,
        unit="mm",
        baseline="paired-point max",
        baseline_value=float(paired.max()),
    )
    report(
        name="icp_success_tre_below_1mm",
        value=int((tre < 1.0).sum()),
        unit="of 100",
        baseline="paired-point, 4 landmarks",
        baseline_value=int((paired < 1.0).sum()),
        criterion=">= 95",
        tre_distribution_mm=[round(float(v), 4) if np.isfinite(v) else None for v in np.sort(tre)],
        traced_points_median=int(np.median(result["n_points"])),
    )
    start = time.perf_counter()
    for _ in range(200):
        register_paired_points(landmarks, landmarks + 0.1)
    paired_s = (time.perf_counter() - start) / 200
    report(
        name="icp_time_per_registration",
        value=float(np.median(result["seconds"])),
        unit="s",
        baseline="paired-point registration time",
        baseline_value=paired_s,
        p95_s=float(np.percentile(result["seconds"], 95)),
    )
