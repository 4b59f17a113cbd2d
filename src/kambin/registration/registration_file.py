"""The patient registration (`ct_to_reference`, 4x4, mm, with its error estimate) and its file.

The file (JSON) is `ct_to_reference` (4x4 row-major) with optional `error_mm` and `method`; or what
`kambin register points --json` prints when the fixed points are the CT's and the moving ones were
touched in the reference's frame: `moving_to_fixed` (= reference_to_ct), `fre_mm`, `tre_mm` (the
predicted TRE is taken as the error when given, else the FRE).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from kambin.atomic import write_text_atomic
from kambin.errors import InvalidInputError
from kambin.geometry.transforms import check_rigid, invert
from kambin.json_files import read_model

Matrix4 = list[list[float]]


@dataclass(frozen=True)
class Registration:
    """`ct_to_reference` (4x4) from patient registration and its error estimate (mm; FRE or TRE).

    `ct_to_reference=None` means no registration: guidance is off and says so.
    """

    ct_to_reference: np.ndarray | None
    error_mm: float | None = None
    method: str = ""

    @property
    def registered(self) -> bool:
        return self.ct_to_reference is not None


class RegistrationFile(BaseModel):
    """The registration file (see the module docstring); other keys (residuals, FLE, ...) are ignored."""

    model_config = ConfigDict(extra="ignore")
    format: Literal["kambin-registration-1"] = "kambin-registration-1"
    ct_to_reference: Matrix4 | None = None
    moving_to_fixed: Matrix4 | None = None
    error_mm: float | None = Field(None, ge=0)
    tre_mm: float | None = Field(None, ge=0)
    fre_mm: float | None = Field(None, ge=0)
    method: str = ""

    @model_validator(mode="after")
    def _one(self) -> RegistrationFile:
        if (self.ct_to_reference is None) == (self.moving_to_fixed is None):
            raise ValueError("give exactly one of ct_to_reference, moving_to_fixed (a 4x4 matrix)")
        return self


def read_registration(path: str | os.PathLike) -> Registration:
    """The patient registration `ct_to_reference` and its error estimate (see the module docstring)."""
    data = read_model(RegistrationFile, path, "registration")
    try:
        if data.ct_to_reference is not None:
            matrix = check_rigid(np.asarray(data.ct_to_reference, dtype=np.float64), "ct_to_reference")
            error, method = data.error_mm, data.method or f"from {Path(path).name}"
        else:
            reference_to_ct = check_rigid(np.asarray(data.moving_to_fixed, dtype=np.float64), "moving_to_fixed")
            matrix = invert(reference_to_ct)
            error = data.tre_mm if data.tre_mm is not None else data.fre_mm
            method = data.method or "paired-point (kambin register points)"
    except InvalidInputError as error:
        raise InvalidInputError(f"{path}: {error}") from None
    return Registration(matrix, error, method)


def registration_file_fields(moving_to_fixed: np.ndarray, fre_mm: float | None, tre_mm: float | None = None,
                             **extra) -> dict:
    """A paired-point registration's file fields (JSON-ready), as `kambin register points --json`
    prints them; `extra` keys (residuals, FLE, ...) go beside, ignored by the reader."""
    fields = RegistrationFile(moving_to_fixed=np.asarray(moving_to_fixed, dtype=float).tolist(), fre_mm=fre_mm,
                              tre_mm=tre_mm)
    return {**fields.model_dump(mode="json", include={"format", "moving_to_fixed", "fre_mm", "tre_mm"}), **extra}


def write_registration(fields: dict, path: str | os.PathLike) -> Path:
    """Write `registration_file_fields(...)` as a registration file, atomically."""
    return write_text_atomic(path, json.dumps(fields, indent=2) + "\n")
