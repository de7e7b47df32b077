"""Reading YAML data files into pydantic models with errors that name the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from geo_dashboard.errors import ConfigError

ModelT = TypeVar("ModelT", bound=BaseModel)


def read_yaml(path: Path, what: str) -> Any:
    """Parse a YAML file, raising :class:`ConfigError` that names file and line."""
    if not path.is_file():
        raise ConfigError(f"{what} not found: {path}. Check the path or create it.")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"{what} {path} is not valid UTF-8 (byte {err.start}). "
            "Save the file with UTF-8 encoding."
        ) from err
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigError(
            f"{what} {path} is not valid YAML{where}: {problem}. "
            "Fix the syntax there (indentation, colons, quotes)."
        ) from err


def format_validation_error(err: ValidationError, path: Path, what: str) -> str:
    """Describe each pydantic error as ``file: key.path: message``."""
    lines = [f"{what} {path} is invalid:"]
    for item in err.errors():
        key_path = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key; remove it or check its spelling"
        elif item["type"] == "missing":
            message = "required key is missing; add it"
        lines.append(f"  {key_path}: {message}")
    return "\n".join(lines)


def load_model(model: type[ModelT], path: Path, what: str, **context: Any) -> ModelT:
    """Read a YAML file and validate it against ``model``."""
    data = read_yaml(path, what)
    if data is None:
        raise ConfigError(f"{what} {path} is empty. Add its content.")
    try:
        return model.model_validate(data, context=context or None)
    except ValidationError as err:
        raise ConfigError(format_validation_error(err, path, what)) from err
