"""Loading and checking the measure library, with per-area overrides.

The shared library is ``data/measures.yaml`` in the package. An area can
override or extend it with ``area_configs/measures/<area>.yaml``: entries with
an id that is already in the shared library replace that entry whole, new ids
are added, and ids listed under ``disabled`` are removed.

:func:`add_measures` adds measures from elsewhere, such as the accepted
proposals of an area (see :mod:`geo_dashboard.measures.proposals`), to a
loaded library with the same checks.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from geo_dashboard._yaml import format_validation_error, read_yaml
from geo_dashboard.crops import load_crop_table
from geo_dashboard.errors import ConfigError
from geo_dashboard.expressions import formula_columns
from geo_dashboard.measures.library import (
    FIXED_COLUMNS,
    PARCEL_COLUMNS,
    Effect,
    Measure,
    MeasureLibrary,
    ScenarioAttribute,
)
from geo_dashboard.paths import package_data

logger = logging.getLogger(__name__)


def override_path(configs_dir: Path, area_id: str) -> Path:
    """Return the path of the optional per-area measure file."""
    return Path(configs_dir) / "measures" / f"{area_id}.yaml"


def load_measure_library(
    area_id: str | None = None,
    configs_dir: Path | None = None,
    path: Path | None = None,
) -> MeasureLibrary:
    """Read the shared measure library, merged with an area's overrides.

    Parameters
    ----------
    area_id, configs_dir
        When both are given and ``<configs_dir>/measures/<area_id>.yaml``
        exists, its entries replace or extend the shared ones.
    path
        Shared library file; the packaged ``measures.yaml`` by default.

    Raises
    ------
    ConfigError
        If a file is not valid YAML, a key is unknown or missing, a formula
        uses anything but columns, numbers and operators, an effect targets
        an unknown or fixed column, or a value does not fit its column. The
        message names the file and the key.
    """
    path = path or package_data("measures.yaml")
    data = _read_mapping(path)
    sources = {"shared": path}
    if area_id is not None and configs_dir is not None:
        extra = override_path(configs_dir, area_id)
        if extra.is_file():
            data = _merge(data, _read_mapping(extra), extra)
            sources["area"] = extra
            logger.info("merged measure overrides of area %s from %s", area_id, extra)
    shown = sources.get("area", path)
    try:
        library = MeasureLibrary.model_validate(data)
    except ValidationError as err:
        raise ConfigError(
            format_validation_error(err, shown, "measure library")
        ) from err
    library.path = shown
    _cross_check(library, shown)
    return library


def add_measures(
    library: MeasureLibrary, measures: Sequence[Measure], origin: str
) -> MeasureLibrary:
    """Return a copy of ``library`` with ``measures`` added after its own.

    Parameters
    ----------
    library
        A loaded library; it is not changed.
    measures
        Measures to add, such as an area's accepted proposals.
    origin
        Where the measures come from, for error messages.

    Raises
    ------
    ConfigError
        If a measure id is already in ``library`` or given twice, or a
        measure fails the checks of :func:`load_measure_library`.
    """
    known = set(library.ids)
    for measure in measures:
        if measure.id in known:
            shown = library.path or "the measure library"
            raise ConfigError(
                f"{origin}: measure id {measure.id!r} is already in {shown}. "
                f"Disable one of them: list {measure.id!r} under disabled: in "
                "the area's measure overrides, or give the other measure a new id."
            )
        known.add(measure.id)
    merged = library.model_copy(update={"measures": [*library.measures, *measures]})
    _cross_check(merged, Path(origin))
    return merged


def _read_mapping(path: Path) -> dict[str, Any]:
    data = read_yaml(path, "measure library")
    if not isinstance(data, dict):
        raise ConfigError(
            f"measure library {path} must be a mapping with the keys measures, "
            "attributes and indicators."
        )
    return data


def _merge(shared: dict[str, Any], area: dict[str, Any], path: Path) -> dict[str, Any]:
    unknown = sorted(set(area) - {"measures", "attributes", "indicators", "disabled"})
    if unknown:
        raise ConfigError(
            f"measure overrides {path}: unknown key(s) {', '.join(unknown)}; "
            "valid keys: measures, attributes, indicators, disabled."
        )
    merged = dict(shared)
    disabled = set(area.get("disabled") or [])
    for key in ("measures", "attributes", "indicators"):
        entries = {
            item.get("id"): item
            for item in shared.get(key) or []
            if isinstance(item, dict)
        }
        for item in area.get(key) or []:
            if not isinstance(item, dict) or "id" not in item:
                raise ConfigError(
                    f"measure overrides {path}: every entry under {key} needs an id."
                )
            entries[item["id"]] = item
        merged[key] = [
            item for item_id, item in entries.items() if item_id not in disabled
        ]
    missing = sorted(
        disabled
        - {
            i.get("id")
            for k in ("measures", "attributes", "indicators")
            for i in shared.get(k) or []
            if isinstance(i, dict)
        }
    )
    if missing:
        raise ConfigError(
            f"measure overrides {path}: disabled id(s) {', '.join(missing)} are "
            "not in the shared library."
        )
    return merged


def _cross_check(library: MeasureLibrary, path: Path) -> None:
    attributes = {attribute.id: attribute for attribute in library.attributes}
    clash = sorted(set(attributes) & set(PARCEL_COLUMNS))
    if clash:
        raise ConfigError(
            f"measure library {path}: attributes {', '.join(clash)} are parcel "
            "table columns; give the scenario attribute another id."
        )
    known = set(PARCEL_COLUMNS) | set(attributes)
    for field, ids in (
        ("measures", library.ids),
        ("indicators", [kpi.id for kpi in library.indicators]),
        ("attributes", list(attributes)),
    ):
        duplicated = sorted({item for item in ids if ids.count(item) > 1})
        if duplicated:
            raise ConfigError(
                f"measure library {path}: {field} ids listed twice: "
                f"{', '.join(duplicated)}."
            )
    crops = load_crop_table()
    for index, measure in enumerate(library.measures):
        where = f"measure library {path}: measures.{index} ({measure.id})"
        unknown = sorted(measure.columns_used - known)
        if unknown:
            raise ConfigError(
                f"{where}: formulas use unknown column(s) {', '.join(unknown)}. "
                f"Known columns: {', '.join(sorted(known))}."
            )
        if measure.set_crop is not None and measure.set_crop not in crops.index:
            raise ConfigError(
                f"{where}: set_crop: crop code {measure.set_crop} is not in the "
                "crop table geo_dashboard/data/crop_codes.csv."
            )
        for column, effect in measure.effects.items():
            _check_effect(where, column, effect, known, attributes)
    for index, kpi in enumerate(library.indicators):
        unknown = sorted(kpi.columns - known)
        if kpi.table != "parcels" or unknown:
            raise ConfigError(
                f"measure library {path}: indicators.{index} ({kpi.id}): "
                "indicators must use table parcels and known columns; unknown: "
                f"{', '.join(unknown) or 'none'}."
            )


def _check_effect(
    where: str,
    column: str,
    effect: Effect,
    known: set[str],
    attributes: dict[str, ScenarioAttribute],
) -> None:
    key = f"{where}: effects.{column}"
    if column not in known:
        raise ConfigError(
            f"{key}: unknown column; use a parcel column or declare a scenario "
            "attribute under attributes."
        )
    if column in FIXED_COLUMNS:
        raise ConfigError(f"{key}: column {column!r} cannot be changed by a measure.")
    if effect.formula is not None:
        unknown = sorted(formula_columns(effect.formula) - known)
        if unknown:
            raise ConfigError(
                f"{key}: formula uses unknown column(s) {', '.join(unknown)}."
            )
    allowed = PARCEL_COLUMNS.get(column)
    if effect.set is None or allowed is None:
        return
    if allowed is bool and not isinstance(effect.set, bool):
        raise ConfigError(f"{key}: set must be true or false, not {effect.set!r}.")
    if isinstance(allowed, list) and effect.set not in allowed:
        raise ConfigError(
            f"{key}: value {effect.set!r} is invalid; use one of {', '.join(allowed)}."
        )
