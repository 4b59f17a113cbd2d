"""The label registry: every anatomical name kambin uses, with its id and display colour.

Names and ids follow TotalSegmentator v2's `total` task where TotalSegmentator has the structure
(Wasserthal et al., "TotalSegmentator: robust segmentation of 104 anatomic structures in CT
images", Radiology: AI 2023; ids as in its `map_to_binary.py`), so its label maps need no
translation for those. Structures it does not have (discs, nerve roots, dural sac, ...) are
kambin's additions, named in the same style, with ids from 200 up.

Colours follow surgical convention: bone ivory, nerve yellow, dura blue, disc white/grey,
vessels red (arteries) and blue-purple (veins), muscle brown-red.
"""

from __future__ import annotations

from dataclasses import dataclass

from kambin.errors import InvalidInputError

BONE = (0.93, 0.89, 0.78)
DISC = (0.82, 0.84, 0.88)
NERVE = (1.00, 0.84, 0.10)
DURA = (0.30, 0.50, 0.95)
ARTERY = (0.85, 0.10, 0.10)
VEIN = (0.35, 0.25, 0.75)
MUSCLE = (0.72, 0.33, 0.28)
ORGAN = (0.62, 0.28, 0.22)
BOWEL = (0.90, 0.68, 0.58)
FAT = (0.98, 0.90, 0.62)
SKIN = (0.95, 0.77, 0.66)
PATHOLOGY = (0.95, 0.25, 0.65)
LIGAMENT = (0.85, 0.80, 0.55)
METAL = (0.55, 0.60, 0.65)

LUMBAR_LEVELS = ("L1", "L2", "L3", "L4", "L5")
VERTEBRAE = ("T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5", "S1")
# Cervical and upper thoracic vertebrae, cranial first (registry names only; no discs or roots).
UPPER_VERTEBRAE = tuple(f"C{n}" for n in range(1, 8)) + tuple(f"T{n}" for n in range(1, 10))
SIDES = ("left", "right")


@dataclass(frozen=True)
class Label:
    """One anatomical structure: integer id in label maps, registry name, category, colour."""

    id: int
    name: str
    category: str
    color_rgb: tuple[float, float, float]
    description: str


def _vertebra_labels() -> list[Label]:
    # TotalSegmentator v2: vertebrae_S1=26, L5=27 ... L1=31, T12=32 ... T1=43.
    ids = {"S1": 26, "L5": 27, "L4": 28, "L3": 29, "L2": 30, "L1": 31, "T12": 32, "T11": 33, "T10": 34}
    # Above T10 (C1 = 50 ... T9 = 35), so that label maps of longer spines import without loss.
    ids.update({v: 35 + n for n, v in enumerate(UPPER_VERTEBRAE[::-1])})
    return [
        Label(ids[v], f"vertebrae_{v}", "bone", BONE, f"{v} vertebra, body and posterior elements")
        for v in UPPER_VERTEBRAE + VERTEBRAE
    ]


#: Vertebrae found but not named (the naming cues disagree or are missing): `vertebra_1` is the
#: cranial-most segment in view, counting down. A label map holding these names no level.
MAX_UNNAMED_VERTEBRAE = 30
UNNAMED_VERTEBRA_FIRST_ID = 161


def unnamed_vertebra_name(number: int) -> str:
    """Registry name of the `number`-th vertebra in view counted from the cranial end (1-based)."""
    if not 1 <= number <= MAX_UNNAMED_VERTEBRAE:
        raise InvalidInputError(f"an unnamed vertebra is numbered 1 to {MAX_UNNAMED_VERTEBRAE}, not {number}")
    return f"vertebra_{number}"


def _unnamed_vertebra_labels() -> list[Label]:
    return [
        Label(
            UNNAMED_VERTEBRA_FIRST_ID + n - 1,
            unnamed_vertebra_name(n),
            "bone",
            BONE,
            f"vertebra {n} in view counted from the cranial end, level not named",
        )
        for n in range(1, MAX_UNNAMED_VERTEBRAE + 1)
    ]


def disc_name(upper: str, lower: str) -> str:
    """Registry name of the disc between two vertebrae, e.g. disc_name("L4", "L5") -> "disc_L4_L5"."""
    return f"disc_{upper}_{lower}"


def nerve_root_name(vertebra: str, side: str) -> str:
    """Registry name of a spinal nerve root, named by the vertebra under whose pedicle it exits."""
    if side not in SIDES:
        raise InvalidInputError(f"side must be one of {SIDES}, not {side!r}")
    return f"nerve_root_{vertebra}_{side}"


# Motion segments from T10-T11 to L5-S1, cranial vertebra first.
MOTION_SEGMENTS = tuple(zip(VERTEBRAE[:-1], VERTEBRAE[1:], strict=True))


def _disc_labels() -> list[Label]:
    return [
        Label(200 + n, disc_name(a, b), "disc", DISC, f"intervertebral disc between {a} and {b}")
        for n, (a, b) in enumerate(MOTION_SEGMENTS)
    ]


def _nerve_root_labels() -> list[Label]:
    labels = []
    for n, vertebra in enumerate(("T10", "T11", "T12", *LUMBAR_LEVELS, "S1")):
        for m, side in enumerate(SIDES):
            labels.append(
                Label(
                    220 + 2 * n + m,
                    nerve_root_name(vertebra, side),
                    "neural",
                    NERVE,
                    f"{vertebra} spinal nerve root, {side}, with its dorsal root ganglion",
                )
            )
    return labels


_FIXED = [
    # TotalSegmentator v2 ids.
    Label(1, "spleen", "organ", ORGAN, "spleen"),
    Label(2, "kidney_right", "organ", ORGAN, "right kidney"),
    Label(3, "kidney_left", "organ", ORGAN, "left kidney"),
    Label(5, "liver", "organ", ORGAN, "liver"),
    Label(18, "small_bowel", "bowel", BOWEL, "small bowel"),
    Label(19, "duodenum", "bowel", BOWEL, "duodenum"),
    Label(20, "colon", "bowel", BOWEL, "colon"),
    Label(25, "sacrum", "bone", BONE, "sacrum (below S1 where S1 is labelled separately)"),
    Label(52, "aorta", "vessel", ARTERY, "abdominal aorta"),
    Label(63, "inferior_vena_cava", "vessel", VEIN, "inferior vena cava"),
    Label(65, "iliac_artery_left", "vessel", ARTERY, "left common iliac artery"),
    Label(66, "iliac_artery_right", "vessel", ARTERY, "right common iliac artery"),
    Label(67, "iliac_vena_left", "vessel", VEIN, "left common iliac vein"),
    Label(68, "iliac_vena_right", "vessel", VEIN, "right common iliac vein"),
    Label(77, "hip_left", "bone", BONE, "left hip bone (ilium with the iliac crest)"),
    Label(78, "hip_right", "bone", BONE, "right hip bone (ilium with the iliac crest)"),
    Label(79, "spinal_cord", "neural", NERVE, "spinal cord (ends at the conus, about L1)"),
    Label(86, "autochthon_left", "muscle", MUSCLE, "left paraspinal (erector spinae and multifidus)"),
    Label(87, "autochthon_right", "muscle", MUSCLE, "right paraspinal (erector spinae and multifidus)"),
    Label(88, "iliopsoas_left", "muscle", MUSCLE, "left psoas major and iliacus"),
    Label(89, "iliopsoas_right", "muscle", MUSCLE, "right psoas major and iliacus"),
    Label(102, "rib_left_11", "bone", BONE, "left 11th rib"),
    Label(103, "rib_left_12", "bone", BONE, "left 12th rib"),
    Label(114, "rib_right_11", "bone", BONE, "right 11th rib"),
    Label(115, "rib_right_12", "bone", BONE, "right 12th rib"),
    # kambin's additions.
    Label(240, "spinal_canal", "neural", DURA, "bony spinal canal (everything inside it)"),
    Label(241, "dural_sac", "neural", DURA, "dural sac (thecal sac) with cerebrospinal fluid"),
    Label(242, "cauda_equina", "neural", NERVE, "cauda equina nerve roots inside the dural sac"),
    Label(243, "epidural_fat", "soft_tissue", FAT, "epidural fat in the spinal canal"),
    Label(244, "ligamentum_flavum", "ligament", LIGAMENT, "ligamentum flavum between the laminae"),
    Label(245, "disc_herniation", "pathology", PATHOLOGY, "herniated disc material"),
    Label(246, "facet_hypertrophy", "pathology", PATHOLOGY, "hypertrophied facet joint bone"),
    Label(247, "rib_left_13", "bone", BONE, "left 13th (lumbar) rib: a transitional rib on L1"),
    Label(248, "rib_right_13", "bone", BONE, "right 13th (lumbar) rib: a transitional rib on L1"),
    Label(249, "metal", "implant", METAL, "metal implant (pedicle screws, rods, cages): over 2500 HU on CT"),
    Label(250, "muscle", "muscle", MUSCLE, "other skeletal muscle (abdominal wall, quadratus lumborum)"),
    Label(251, "subcutaneous_fat", "soft_tissue", FAT, "subcutaneous fat"),
    Label(252, "visceral_fat", "soft_tissue", FAT, "retroperitoneal and visceral fat"),
    Label(253, "skin", "soft_tissue", SKIN, "skin"),
    Label(254, "peritoneal_cavity", "organ", BOWEL, "peritoneal cavity with its contents"),
]

LABELS: tuple[Label, ...] = tuple(
    sorted(
        _FIXED + _vertebra_labels() + _unnamed_vertebra_labels() + _disc_labels() + _nerve_root_labels(),
        key=lambda label: label.id,
    )
)
_BY_NAME = {label.name: label for label in LABELS}
_BY_ID = {label.id: label for label in LABELS}
if len(_BY_NAME) != len(LABELS) or len(_BY_ID) != len(LABELS):
    raise RuntimeError("label registry has duplicate names or ids")  # a programming error


def label(name: str) -> Label:
    """The registry entry for a name; raises InvalidInputError with the close names if unknown."""
    try:
        return _BY_NAME[name]
    except KeyError:
        close = [n for n in _BY_NAME if name.split("_")[0] in n][:6]
        hint = f"; similar: {', '.join(close)}" if close else "; `kambin labels` lists them all"
        raise InvalidInputError(f"unknown label name {name!r}{hint}") from None


def label_id(name: str) -> int:
    """Integer id of a registry name."""
    return label(name).id


def label_by_id(label_id_: int) -> Label:
    """The registry entry for an id; raises InvalidInputError if no structure has it."""
    try:
        return _BY_ID[int(label_id_)]
    except KeyError:
        raise InvalidInputError(f"no registry label has id {label_id_}; `kambin labels` lists them") from None


def sidecar(ids: list[int] | tuple[int, ...]) -> dict[str, str]:
    """The JSON sidecar of a label map: label id as a string to registry name, ids ascending."""
    return {str(i): label_by_id(i).name for i in sorted(set(int(i) for i in ids)) if i != 0}
