"""Anatomy on a CT: the label registry, vertebra segmentation and naming, landmarks, estimates of the
soft tissues a CT does not show (discs, nerve roots, dural sac), morphometry and the `SpineModel`."""
