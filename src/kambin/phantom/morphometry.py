"""Cited morphometry of the adult lumbar spine, and its seeded sampling per synthetic patient.

Means and standard deviations per level, from:

- Panjabi MM et al., "Human lumbar vertebrae: quantitative three-dimensional anatomy",
  Spine 1992;17(3):299-306: vertebral body upper endplate width and depth, body height,
  spinal canal width (interpedicular) and depth. L4: endplate width about 48 mm, depth about
  35 mm, posterior body height about 27 mm.
- Zindrick MR et al., "Analysis of the morphometric characteristics of the thoracic and
  lumbar pedicles", Spine 1987;12(2):160-166: pedicle transverse width (L1 8.7, L2 8.9,
  L3 10.3, L4 12.9, L5 18.0 mm), height (15.4, 15.0, 14.9, 14.8, 14.0 mm) and transverse
  angle (10.9, 12.0, 14.4, 17.7, 29.8 deg). Our L5 pedicle is an elliptic rod, not the
  funnel that blends into the body, so its width is taken at 15.5 mm (the isthmus).
- Twomey LT, Taylor JR, "Age changes in lumbar vertebrae and intervertebral discs", Clin Orthop
  Relat Res 1987;224:97-104, and the MRI disc-height literature it agrees with: mid-disc heights
  about 8-9 mm at L1-L2 rising to 11-12 mm at L4-L5 (L5-S1 slightly less).
- Hasegawa T et al., "Lumbar foraminal stenosis: critical heights of the intervertebral discs
  and foramina", J Bone Joint Surg Am 1995;77(1):32-38: foraminal height 19-23 mm,
  superior foraminal width 8-10 mm; root compression when foraminal height <= 15 mm and
  posterior disc height <= 4 mm.
- Kambin's triangle: Mirkovic SR et al., Spine 1995;20(18):1965-1971; Hoshide R et al.,
  "Cadaveric analysis of the Kambin's triangle", Cureus 2016; Kumari C et al., Anat Cell Biol
  2021;54(1) (inscribed circle 5.7-8.2 mm, largest at L4-L5); Pairaiturkar PP et al., J Korean
  Neurosurg Soc 2019;62(4) (the neural triangle admits 5.7 mm at L1-L2 to 9.7 mm at L5-S1).
- Sagittal alignment: Roussouly P et al., Spine 2005;30(3):346-353 (sacral slope 39 +- 8 deg,
  L1-S1 lordosis about 60 deg, two thirds of it at L4-S1); facet joint orientation to the
  sagittal plane as reported in CT studies of facet tropism (about 25 deg at L1-L2, more
  coronal caudally, about 50 deg at L5-S1; e.g. Noren R et al., Spine 1991).
- Thoracolumbar junction (the `thoracic` option, T11 and T12): Panjabi MM et al., "Thoracic human
  vertebrae: quantitative three-dimensional anatomy", Spine 1991;16(8):888-901 (T11/T12 upper
  endplate width about 38/41 mm, depth 30/32 mm, body height 23/24 mm, canal 18/20 mm wide);
  Zindrick 1987 (pedicle width T11 7.8, T12 7.1 mm, height 17.4, 15.9 mm, angle 3-5 deg); disc
  heights about 6-8 mm, the junction near neutral (Roussouly 2005); T11-T12 facets coronal, T12's
  inferior facets lumbar-type (Masharawi Y et al., Spine 2004;29(16)). Ribs: the 11th rib about 20
  cm long, the 12th 5-15 cm (Standring, Gray's Anatomy, 41st ed., ch. 53), some 10 mm by 5 mm in
  section.
- Iliac crest: Chakraverty R et al., "Which spinal levels are identified by palpation of the
  iliac crests...", J Anat 2007;210(2):232-236 (the intercristal line most often crosses L4 or
  the L4-L5 disc).

Every length is in mm and every angle, internally, in radians.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

LEVELS_VERTEBRAE = ("L1", "L2", "L3", "L4", "L5", "S1")
LUMBAR = ("L1", "L2", "L3", "L4", "L5")
MOTION_LEVELS = ("L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1")
HABITUS = ("slim", "average", "obese")
#: The thoracolumbar option's vertebrae (cranial first) and motion segments, above L1.
THORACIC = ("T11", "T12")
THORACIC_MOTION_LEVELS = ("T11-T12", "T12-L1")
#: Which vertebrae bear ribs, by the number of rib pairs: 11 (T12 has none), 12, 13 (a lumbar rib on L1).
RIB_BEARING = {11: ("T11",), 12: ("T11", "T12"), 13: ("T11", "T12", "L1")}
#: Rib length (mean, sd) in mm by the rib's number (Standring, Gray's Anatomy); a 13th rib is short.
RIB_LENGTH_MM = {11: (190.0, 20.0), 12: (110.0, 25.0), 13: (50.0, 10.0)}

# (mean, sd) per vertebra L1..L5, S1; Panjabi 1992 (body, canal), Zindrick 1987 (pedicles).
BODY_WIDTH_MM = {
    "L1": (41.0, 2.8),
    "L2": (43.0, 2.8),
    "L3": (45.0, 3.0),
    "L4": (48.0, 3.0),
    "L5": (50.0, 3.2),
    "S1": (50.0, 3.2),
}
BODY_DEPTH_MM = {
    "L1": (32.5, 2.2),
    "L2": (33.5, 2.2),
    "L3": (34.5, 2.3),
    "L4": (35.0, 2.3),
    "L5": (35.0, 2.4),
    "S1": (34.0, 2.4),
}
BODY_HEIGHT_MM = {
    "L1": (26.0, 1.6),
    "L2": (27.0, 1.6),
    "L3": (27.0, 1.6),
    "L4": (27.0, 1.6),
    "L5": (26.5, 1.6),
    "S1": (26.0, 1.8),
}
PEDICLE_WIDTH_MM = {
    "L1": (8.7, 1.0),
    "L2": (8.9, 1.1),
    "L3": (10.3, 1.2),
    "L4": (12.9, 1.4),
    "L5": (15.5, 1.6),
    "S1": (16.0, 1.6),
}
PEDICLE_HEIGHT_MM = {
    "L1": (15.4, 1.2),
    "L2": (15.0, 1.2),
    "L3": (14.9, 1.2),
    "L4": (14.8, 1.2),
    "L5": (14.0, 1.3),
    "S1": (14.0, 1.3),
}
PEDICLE_ANGLE_DEG = {
    "L1": (10.9, 3.0),
    "L2": (12.0, 3.0),
    "L3": (14.4, 3.0),
    "L4": (17.7, 3.5),
    "L5": (29.8, 4.0),
    "S1": (32.0, 4.0),
}
CANAL_WIDTH_MM = {
    "L1": (22.0, 1.8),
    "L2": (22.5, 1.8),
    "L3": (23.5, 1.8),
    "L4": (24.5, 2.0),
    "L5": (26.5, 2.2),
    "S1": (28.0, 2.2),
}
CANAL_DEPTH_MM = {
    "L1": (17.5, 1.5),
    "L2": (16.5, 1.5),
    "L3": (15.5, 1.5),
    "L4": (16.0, 1.6),
    "L5": (17.0, 1.7),
    "S1": (15.0, 1.7),
}
# Transverse process tip-to-tip span and spinous process length (anatomy texts; Gray's 42nd ed.).
TP_SPAN_MM = {
    "L1": (68.0, 5.0),
    "L2": (78.0, 5.0),
    "L3": (88.0, 5.0),
    "L4": (84.0, 5.0),
    "L5": (86.0, 5.0),
    "S1": (0.0, 0.0),
}
SPINOUS_LENGTH_MM = {
    "L1": (30.0, 3.0),
    "L2": (31.0, 3.0),
    "L3": (31.0, 3.0),
    "L4": (29.0, 3.0),
    "L5": (24.0, 3.0),
    "S1": (14.0, 2.0),
}
# T11, T12 (Panjabi 1991, Zindrick 1987), in the order of the fields of `VertebraDims` below: body
# width, depth, height, pedicle width, height, angle (deg), canal width, depth, transverse process
# span, spinous length.
THORACIC_DIMS_MM = {
    "T11": ((38.0, 2.6), (30.0, 2.0), (23.0, 1.5), (7.8, 1.0), (17.4, 1.3), (4.0, 2.0), (18.0, 1.5), (16.5, 1.4),
            (58.0, 5.0), (32.0, 3.0)),
    "T12": ((41.0, 2.8), (32.0, 2.1), (24.0, 1.5), (7.5, 1.0), (15.9, 1.2), (5.0, 2.0), (20.0, 1.6), (17.0, 1.5),
            (52.0, 5.0), (31.0, 3.0)),
}
# (disc height, segmental lordosis in deg, facet angle to the sagittal plane in deg), mean and sd.
THORACIC_SEGMENTS = {
    "T11-T12": ((6.5, 0.8), (0.0, 2.0), (60.0, 8.0)),
    "T12-L1": ((7.5, 0.8), (0.0, 2.0), (30.0, 6.0)),
}
# Per motion segment: mid-disc height (Twomey 1987), segmental lordosis and facet angle to the
# sagittal plane (Roussouly 2005; facet-tropism CT studies).
DISC_HEIGHT_MM = {
    "L1-L2": (8.8, 0.9),
    "L2-L3": (9.8, 1.0),
    "L3-L4": (10.6, 1.0),
    "L4-L5": (11.4, 1.1),
    "L5-S1": (11.0, 1.2),
}
SEGMENT_LORDOSIS_DEG = {
    "L1-L2": (3.0, 2.0),
    "L2-L3": (6.0, 2.0),
    "L3-L4": (9.0, 2.5),
    "L4-L5": (13.0, 3.0),
    "L5-S1": (17.0, 3.5),
}
FACET_ANGLE_DEG = {
    "L1-L2": (26.0, 5.0),
    "L2-L3": (33.0, 5.0),
    "L3-L4": (40.0, 5.0),
    "L4-L5": (47.0, 6.0),
    "L5-S1": (50.0, 6.0),
}
SACRAL_SLOPE_DEG = (39.0, 6.0)  # Roussouly 2005
# L5 body wedge (anterior taller; lordosis carried by the body, Roussouly 2005).
L5_BODY_WEDGE_DEG = (4.0, 1.5)
# Root and sac (Cohen MS et al., Spine 1990 on root and DRG sizes; Hasegawa 1995): exiting root
# radius about 2.5-3 mm, dorsal root ganglion about 4-5 mm wide; dural sac cross-sectional area
# about 150-200 mm^2 at L3-L4 (Schonstrom N et al., Spine 1985), i.e. a radius near 7 mm.
ROOT_RADIUS_MM = (2.6, 0.2)
DRG_RADIUS_MM = (3.6, 0.3)
DURAL_SAC_RADIUS_MM = (7.2, 0.6)

# Subcutaneous fat thickness over the lumbar spine by habitus (mm), and body cross-section
# semi-axes at L3 (lateral, antero-posterior), from typical adult abdominal CT.
FAT_THICKNESS_MM = {"slim": (9.0, 2.0), "average": (22.0, 4.0), "obese": (48.0, 8.0)}
BODY_SEMI_AXES_MM = {"slim": (145.0, 108.0), "average": (165.0, 124.0), "obese": (195.0, 150.0)}


@dataclass(frozen=True)
class VertebraDims:
    """One vertebra's sampled dimensions (mm, radians)."""

    name: str
    body_width_mm: float
    body_depth_mm: float
    body_height_mm: float
    body_wedge_rad: float
    pedicle_width_mm: float
    pedicle_height_mm: float
    pedicle_angle_rad: float
    canal_width_mm: float
    canal_depth_mm: float
    tp_span_mm: float
    spinous_length_mm: float


@dataclass(frozen=True)
class SegmentDims:
    """One motion segment's sampled dimensions (mm, radians)."""

    level: str
    disc_height_mm: float
    lordosis_rad: float
    facet_angle_rad: float


@dataclass(frozen=True)
class Morphometry:
    """Everything sampled for one patient before pathology is applied."""

    seed: int
    habitus: str
    scale: float
    vertebrae: dict[str, VertebraDims]
    segments: dict[str, SegmentDims]
    sacral_slope_rad: float
    root_radius_mm: float
    drg_radius_mm: float
    dural_sac_radius_mm: float
    fat_thickness_mm: float
    body_semi_axes_mm: tuple[float, float]
    cancellous_hu: float
    noise_sd_hu: float
    extras: dict = field(default_factory=dict)


def _draw(rng: np.random.Generator, mean_sd: tuple[float, float], scale: float = 1.0, spread: float = 0.6) -> float:
    """A normal draw truncated at 2 SD; `spread` shrinks the individual part (the patient
    scale carries the shared part of size variation)."""
    mean, sd = mean_sd
    z = float(np.clip(rng.standard_normal(), -2.0, 2.0))
    return (mean + spread * sd * z) * scale


def with_thoracic(morph: Morphometry, rib_pairs: int = 12) -> Morphometry:
    """`morph` with T11 and T12 above L1 and the rib lengths of `rib_pairs` (11, 12 or 13), drawn
    from their own stream of the seed, so the lumbar dimensions are those of the same seed without."""
    rng = np.random.default_rng([morph.seed, 102])
    vertebrae = {}
    for name in THORACIC:
        d = [_draw(rng, ms, morph.scale) for ms in THORACIC_DIMS_MM[name]]
        vertebrae[name] = VertebraDims(name, d[0], d[1], d[2], 0.0, d[3], d[4], float(np.radians(d[5])), d[6], d[7],
                                       d[8], d[9])
    segments = {}
    for level in THORACIC_MOTION_LEVELS:
        height, lordosis, facet = THORACIC_SEGMENTS[level]
        segments[level] = SegmentDims(level, _draw(rng, height, morph.scale), float(np.radians(_draw(rng, lordosis))),
                                      float(np.radians(_draw(rng, facet))))
    ribs = {name: _draw(rng, RIB_LENGTH_MM[n], morph.scale, spread=1.0)
            for n, name in enumerate(RIB_BEARING[rib_pairs], start=11)}
    return replace(morph, vertebrae={**vertebrae, **morph.vertebrae}, segments={**segments, **morph.segments},
                   extras={**morph.extras, "rib_length_mm": ribs})


#: Osteoporotic bone: trabecular attenuation of the bodies (mean, sd; HU) and the factor on cortical
#: thickness. L1 trabecular attenuation under 110 HU is about 90 % specific for osteoporosis, and
#: osteoporotic bodies read 50-100 HU (Pickhardt PJ et al., Ann Intern Med 2013;158:588-595); the
#: cortex thins by about 40 % (Ritzel H et al., J Bone Miner Res 1997;12(1)).
OSTEOPOROTIC_CANCELLOUS_HU = (80.0, 12.0)
OSTEOPOROTIC_CORTEX_FACTOR = 0.6
#: A wedge compression fracture: the anterior body height lost (Genant grade 3, severe: over 40 %;
#: Genant HK et al., J Bone Miner Res 1993;8(9)), the posterior wall kept.
FRACTURE_ANTERIOR_HEIGHT_LOSS = 0.5


def osteoporotic(morph: Morphometry) -> Morphometry:
    """`morph` with osteoporotic bone: low trabecular HU and a thinner cortex (own stream of the seed)."""
    rng = np.random.default_rng([morph.seed, 104])
    low = float(np.clip(_draw(rng, OSTEOPOROTIC_CANCELLOUS_HU, spread=1.0), 50.0, 110.0))
    return replace(morph, cancellous_hu=low, extras={**morph.extras, "cortex_factor": OSTEOPOROTIC_CORTEX_FACTOR})


def fractured(morph: Morphometry, vertebra: str) -> Morphometry:
    """`morph` with a wedge compression fracture of `vertebra`: the anterior height loses
    FRACTURE_ANTERIOR_HEIGHT_LOSS, the posterior wall none; the body becomes a wedge of the mean
    height, anterior shorter (a local kyphosis)."""
    dims = morph.vertebrae[vertebra]
    h, depth = dims.body_height_mm, dims.body_depth_mm
    loss = FRACTURE_ANTERIOR_HEIGHT_LOSS * h
    wedge = -float(np.arctan2(loss, depth))  # negative: the anterior side shorter
    broken = replace(dims, body_height_mm=h - loss / 2, body_wedge_rad=dims.body_wedge_rad + wedge)
    return replace(morph, vertebrae={**morph.vertebrae, vertebra: broken})


def sample_morphometry(seed: int, habitus: str = "average") -> Morphometry:
    """Sample one patient's morphometry from the cited tables; same seed, same numbers."""
    rng = np.random.default_rng([int(seed), 101])
    scale = float(np.clip(1.0 + 0.045 * rng.standard_normal(), 0.91, 1.09))
    vertebrae = {}
    for v in LEVELS_VERTEBRAE:
        vertebrae[v] = VertebraDims(
            name=v,
            body_width_mm=_draw(rng, BODY_WIDTH_MM[v], scale),
            body_depth_mm=_draw(rng, BODY_DEPTH_MM[v], scale),
            body_height_mm=_draw(rng, BODY_HEIGHT_MM[v], scale),
            body_wedge_rad=np.radians(_draw(rng, L5_BODY_WEDGE_DEG)) if v == "L5" else 0.0,
            pedicle_width_mm=_draw(rng, PEDICLE_WIDTH_MM[v], scale),
            pedicle_height_mm=_draw(rng, PEDICLE_HEIGHT_MM[v], scale),
            pedicle_angle_rad=float(np.radians(_draw(rng, PEDICLE_ANGLE_DEG[v]))),
            canal_width_mm=_draw(rng, CANAL_WIDTH_MM[v], scale),
            canal_depth_mm=_draw(rng, CANAL_DEPTH_MM[v], scale),
            tp_span_mm=_draw(rng, TP_SPAN_MM[v], scale),
            spinous_length_mm=_draw(rng, SPINOUS_LENGTH_MM[v], scale),
        )
    segments = {
        level: SegmentDims(
            level=level,
            disc_height_mm=_draw(rng, DISC_HEIGHT_MM[level], scale),
            lordosis_rad=float(np.radians(max(_draw(rng, SEGMENT_LORDOSIS_DEG[level]), 0.0))),
            facet_angle_rad=float(np.radians(_draw(rng, FACET_ANGLE_DEG[level]))),
        )
        for level in MOTION_LEVELS
    }
    semi = BODY_SEMI_AXES_MM[habitus]
    body_scale = float(np.clip(1.0 + 0.05 * rng.standard_normal(), 0.9, 1.1))
    return Morphometry(
        seed=int(seed),
        habitus=habitus,
        scale=scale,
        vertebrae=vertebrae,
        segments=segments,
        sacral_slope_rad=float(np.radians(_draw(rng, SACRAL_SLOPE_DEG))),
        root_radius_mm=_draw(rng, ROOT_RADIUS_MM),
        drg_radius_mm=_draw(rng, DRG_RADIUS_MM),
        dural_sac_radius_mm=_draw(rng, DURAL_SAC_RADIUS_MM, scale),
        fat_thickness_mm=max(_draw(rng, FAT_THICKNESS_MM[habitus], spread=1.0), 4.0),
        body_semi_axes_mm=(semi[0] * body_scale, semi[1] * body_scale),
        # Trabecular HU of adult lumbar bodies, about 150-280 (Pickhardt PJ et al., Ann Intern
        # Med 2013;158:588-595: L1 trabecular HU > 160 rarely osteoporotic).
        cancellous_hu=float(np.clip(215.0 + 35.0 * rng.standard_normal(), 150.0, 290.0)),
        # Image noise of a routine abdominal CT, 10-20 HU SD, larger in larger patients.
        noise_sd_hu=float({"slim": 11.0, "average": 14.0, "obese": 19.0}[habitus] * (1 + 0.1 * rng.standard_normal())),
    )
