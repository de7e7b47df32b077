"""Edits of an area config's YAML text that keep its comments and layout.

PyYAML drops comments when it writes a file, and the area configs explain
their choices in comments, so these functions edit the text line by line.
Each edit is checked by parsing the result and comparing it with the
intended data. When the layout is too unusual for that, the caller gets an
error that lists the lines to add by hand.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml

from geo_dashboard.errors import ConfigError


def config_text_with_role(
    text: str,
    path: Path,
    role: str,
    layer_id: str,
    parcel_fields: dict[str, str] | None = None,
    covered_gaps: list[str] | None = None,
) -> str:
    """Return config text with ``layer_id`` in ``role`` and that role off ``data_gaps``.

    ``parcel_fields`` keys are set under ``parcel_fields:``, and the inputs in
    ``covered_gaps`` (for example ``crop_codes``) are removed from
    ``data_gaps`` as well.

    Raises
    ------
    ConfigError
        If the role already has a layer, or the edited text does not parse
        to the intended config.
    """
    data = yaml.safe_load(text) or {}
    layers = data.get("layers") or {}
    if role in layers:
        current = layers[role]
        current_id = current.get("layer") if isinstance(current, dict) else current
        raise ConfigError(
            f"area config {path}: role {role!r} already has layer {current_id!r}. "
            "Remove it from 'layers:' first if the new layer should replace it."
        )
    gaps = [role, *(covered_gaps or [])]
    expected = _expected_data(data, role, layer_id, parcel_fields or {}, gaps)

    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    lines = _set_mapping_key(lines, "layers", role, layer_id)
    for key, column in (parcel_fields or {}).items():
        lines = _set_mapping_key(lines, "parcel_fields", key, column)
    for gap in gaps:
        lines = _remove_mapping_key(lines, "data_gaps", gap)
    result = "".join(lines)

    if yaml.safe_load(result) != expected:
        hint = f"layers:\n  {role}: {layer_id}\n"
        if parcel_fields:
            hint += "parcel_fields:\n" + "".join(
                f"  {key}: {value}\n" for key, value in parcel_fields.items()
            )
        raise ConfigError(
            f"area config {path}: could not add the layer automatically (unusual "
            f"layout). Add these lines by hand and remove {', '.join(gaps)} from "
            f"data_gaps:\n{hint}"
        )
    return result


def _expected_data(
    data: dict[str, Any],
    role: str,
    layer_id: str,
    parcel_fields: dict[str, str],
    gaps: list[str],
) -> dict[str, Any]:
    expected = copy.deepcopy(data)
    expected.setdefault("layers", {})
    if expected["layers"] is None:
        expected["layers"] = {}
    expected["layers"][role] = layer_id
    if parcel_fields:
        fields = expected.get("parcel_fields") or {}
        fields.update(parcel_fields)
        expected["parcel_fields"] = fields
    if "data_gaps" in expected:
        remaining = {
            key: value
            for key, value in (expected["data_gaps"] or {}).items()
            if key not in gaps
        }
        expected["data_gaps"] = remaining
    return expected


def _top_level_block(lines: list[str], key: str) -> tuple[int, int] | None:
    """Return the line range of top-level ``key:`` and its indented body."""
    pattern = re.compile(rf"^{re.escape(key)}:(\s*(#.*)?)?$")
    start = next(
        (i for i, line in enumerate(lines) if pattern.match(line.rstrip("\n"))), None
    )
    if start is None:
        return None
    end = start + 1
    while end < len(lines):
        line = lines[end]
        if line.strip() and not line.startswith((" ", "#")):
            break
        end += 1
    # Trailing blank and comment lines belong to what follows the block.
    while end > start + 1 and (
        not lines[end - 1].strip() or lines[end - 1].startswith("#")
    ):
        end -= 1
    return start, end


def _indent_of(lines: list[str], start: int, end: int) -> str:
    for line in lines[start + 1 : end]:
        if line.strip() and not line.lstrip().startswith("#"):
            return line[: len(line) - len(line.lstrip())]
    return "  "


def _set_mapping_key(lines: list[str], block: str, key: str, value: str) -> list[str]:
    """Set ``key: value`` in top-level mapping ``block``, adding the block if absent."""
    entry = f"{key}: {_scalar(value)}\n"
    span = _top_level_block(lines, block)
    if span is None:
        # A one-line flow mapping such as "data_gaps: {}" is replaced as a whole.
        flow = re.compile(rf"^{re.escape(block)}:\s*\{{\s*\}}\s*(#.*)?$")
        index = next(
            (i for i, line in enumerate(lines) if flow.match(line.rstrip("\n"))), None
        )
        if index is not None:
            return [*lines[:index], f"{block}:\n", f"  {entry}", *lines[index + 1 :]]
        return [*lines, "\n", f"{block}:\n", f"  {entry}"]
    start, end = span
    indent = _indent_of(lines, start, end)
    key_line = re.compile(rf"^{re.escape(indent)}{re.escape(key)}:")
    for index in range(start + 1, end):
        if key_line.match(lines[index]):
            item_end = _item_end(lines, index, end, indent)
            return [*lines[:index], f"{indent}{entry}", *lines[item_end:]]
    return [*lines[:end], f"{indent}{entry}", *lines[end:]]


def _remove_mapping_key(lines: list[str], block: str, key: str) -> list[str]:
    span = _top_level_block(lines, block)
    if span is None:
        return lines
    start, end = span
    indent = _indent_of(lines, start, end)
    key_line = re.compile(rf"^{re.escape(indent)}{re.escape(key)}:")
    for index in range(start + 1, end):
        if key_line.match(lines[index]):
            item_end = _item_end(lines, index, end, indent)
            result = [*lines[:index], *lines[item_end:]]
            new_start, new_end = _top_level_block(result, block) or (start, start + 1)
            if not _has_items(result, new_start, new_end, indent):
                result[new_start] = f"{block}: {{}}\n"
            return result
    return lines


def _item_end(lines: list[str], index: int, end: int, indent: str) -> int:
    """Return the line after a mapping item and its more-indented continuation lines."""
    item_end = index + 1
    while item_end < end:
        line = lines[item_end]
        if line.strip() and not line.startswith(indent + " "):
            break
        item_end += 1
    return item_end


def _has_items(lines: list[str], start: int, end: int, indent: str) -> bool:
    return any(
        line.startswith(indent) and line.strip() and not line.lstrip().startswith("#")
        for line in lines[start + 1 : end]
    )


def _scalar(value: str) -> str:
    """Return ``value`` as a one-line YAML scalar, quoted only when needed."""
    return (
        yaml.safe_dump(value, allow_unicode=True, width=1000)
        .removesuffix("\n...\n")
        .strip()
    )
