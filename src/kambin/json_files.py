"""Reading a small JSON settings file (a calibration, a registration) into its typed model, with the
one-line errors every reader gives: no such file, not JSON, not an object, or the first field that
is wrong."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel, ValidationError

from kambin.errors import InvalidInputError, UnreadableFileError


def read_json_object(path: str | os.PathLike, what: str) -> dict:
    """The JSON object in the file at `path` (a `what` file, as the errors name it)."""
    path = Path(path)
    if not path.is_file():
        raise UnreadableFileError(f"{path}: no such {what} file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        detail = f"{error.msg} at line {error.lineno}" if isinstance(error, json.JSONDecodeError) else "not UTF-8"
        raise UnreadableFileError(f"{path}: not a JSON {what} file ({detail})") from None
    if not isinstance(data, dict):
        raise UnreadableFileError(f"{path}: a {what} file holds a JSON object, not {type(data).__name__}")
    return data


def read_model(model: type[BaseModel], path: str | os.PathLike, what: str):
    """The file at `path` validated as `model`; the first wrong field in the error."""
    data = read_json_object(path, what)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or what
        message = first["msg"].removeprefix("Value error, ")
        raise InvalidInputError(f"{path}: not a valid {what} file ({where}: {message})") from None
