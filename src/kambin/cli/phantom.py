"""`kambin phantom`: write a synthetic lumbar patient (CT, labels, truth) to a directory."""

from __future__ import annotations

from pathlib import Path

import typer

from kambin.cli.app import DISCLAIMER, app, console


@app.command("phantom")
def phantom_command(
    output: Path = typer.Option(..., "-o", "--output", help="New or empty output directory."),
    seed: int = typer.Option(0, "--seed", min=0, help="Patient seed (same seed, same patient)."),
    level: str | None = typer.Option(
        None,
        "--level",
        help="Motion segment of the pathology and preview, e.g. L4-L5 (default L4-L5; L5-S1 for high-iliac-crest).",
    ),
    side: str = typer.Option("left", "--side", help="left or right."),
    pathology: str = typer.Option(
        "none",
        "--pathology",
        help="none, central-herniation, paracentral-herniation, foraminal-herniation, extraforaminal-herniation, "
        "foraminal-stenosis or high-iliac-crest.",
    ),
    migration: str = typer.Option("none", "--migration", help="Herniation migration: none, cranial or caudal."),
    habitus: str = typer.Option("average", "--habitus", help="slim, average or obese."),
    spacing: tuple[float, float, float] = typer.Option((1.0, 1.0, 1.0), "--spacing", help="Voxel spacing X Y Z in mm."),
    dicom: bool = typer.Option(False, "--dicom", help="Also write a DICOM series under dicom/."),
    preview: bool = typer.Option(False, "--preview", help="Also write preview.png (sagittal, axial, 3D view)."),
    streaks: bool = typer.Option(False, "--streaks", help="Add beam-hardening streaks."),
    contrast: str = typer.Option(
        "none", "--contrast", help="Intravenous contrast: none, arterial or venous (aorta, veins, kidneys enhanced)."
    ),
    thoracic: bool = typer.Option(False, "--thoracic", help="T11 and T12 in view, with the lowest ribs."),
    rib_pairs: int = typer.Option(
        12, "--rib-pairs", help="With --thoracic: 12, 11 (no rib on T12) or 13 (a lumbar rib on L1)."
    ),
    sacralised_l5: bool = typer.Option(False, "--sacralised-l5", help="L5 fused with the sacrum (disc ossified)."),
    osteoporosis: bool = typer.Option(False, "--osteoporosis", help="Osteoporotic bone (bodies near 80 HU)."),
    fracture: str | None = typer.Option(None, "--fracture", help="A vertebra with a wedge compression fracture."),
    screws: str = typer.Option("", "--screws", help="Vertebrae with pedicle screws and rods, e.g. L4,L5."),
    scoliosis: float = typer.Option(
        0.0, "--scoliosis", help="Cobb angle (deg, to 40) of a lumbar curve convex left (negative: right)."
    ),
    spondylolisthesis: str | None = typer.Option(
        None, "--spondylolisthesis", help="A vertebra slipped forward over the one below, its arch left (isthmic)."
    ),
    slip: float = typer.Option(25.0, "--slip", help="With --spondylolisthesis: the slip in % (to 50: grade 2)."),
    osteophytes: str = typer.Option(
        "none", "--osteophytes", help="none, spurs (at every disc) or bridging (spurs fused across L2-L3, L3-L4)."
    ),
) -> None:
    """Make a synthetic lumbar CT with its label map and ground truth (nerve roots, dural sac, Kambin's triangles)."""
    from kambin.atomic import check_new_directory
    from kambin.phantom import make_patient
    from kambin.phantom.export import write_patient

    check_new_directory(output)
    with console.status("building the synthetic patient"):
        patient = make_patient(
            seed,
            pathology=pathology,
            level=level,
            side=side,
            migration=migration,
            habitus=habitus,
            spacing_mm=spacing,
            streaks=streaks,
            contrast=contrast,
            thoracic=thoracic,
            rib_pairs=rib_pairs,
            sacralised_l5=sacralised_l5,
            osteoporosis=osteoporosis,
            fracture=fracture,
            screws=tuple(v.strip() for v in screws.split(",") if v.strip()),
            scoliosis=scoliosis,
            spondylolisthesis=spondylolisthesis,
            slip_percent=slip,
            osteophytes=osteophytes,
        )
        write_patient(patient, output, dicom=dicom, preview=preview)
    shape = " x ".join(map(str, patient.ct.shape_ijk))
    console.print(
        f"wrote {output} (CT {shape} at {', '.join(f'{s:g}' for s in spacing)} mm; {pathology}). {DISCLAIMER}",
        highlight=False,
    )
