"""Anatomy: the label registry, and (later) segmentation, landmarks, morphometry, `SpineModel`."""
