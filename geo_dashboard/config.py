"""Area configs: one YAML file per area in ``area_configs/``.

A config names the area's boundary, which catalogue layer plays which role
(parcels, Natura 2000, NH3 grid, ...), the roles that are known data gaps,
and per KPI a baseline and a target, each with the source of its number.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from geo_dashboard._yaml import load_model
from geo_dashboard.catalog import Catalog
from geo_dashboard.errors import ConfigError, UnknownIdError
from geo_dashboard.expressions import formula_columns
from geo_dashboard.kpis import KpiLibrary, LocalisedText, value_range_problem
from geo_dashboard.roles import (
    FIELD_INPUTS,
    KPI_INPUTS,
    ROLE_KINDS,
    ROLE_UNITS,
    normalise_unit,
)

AREA_ID_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"



class LayerRef(BaseModel):
    """A catalogue layer used in a role, optionally filtered to some features."""

    model_config = ConfigDict(extra="forbid")

    layer: str
    where: str | None = None

    @model_validator(mode="after")
    def _check_where(self) -> LayerRef:
        if self.where is not None:
            formula_columns(self.where)
        return self


class Boundary(BaseModel):
    """The area outline, optionally clipped to the extent of the parcel layer."""

    model_config = ConfigDict(extra="forbid")

    layer: str
    clip_to_parcel_extent: bool = False


class ParcelFields(BaseModel):
    """Columns of the parcel layer that the build relies on."""

    model_config = ConfigDict(extra="forbid")

    parcel_id: str = "parcel_id"
    crop_code: str | None = None
    farm_id: str | None = None
    peat_emission_rate: str | None = None


class PrivacyRules(BaseModel):
    """Disclosure rules for aggregates of farm data shown to non-owners.

    An aggregate is suppressed when fewer than ``min_farms`` consenting farms
    contribute to it, or when one farm contributes more than
    ``dominance_share`` (a fraction) of its total.
    """

    model_config = ConfigDict(extra="forbid")

    min_farms: int = Field(default=5, ge=2, le=1000)
    dominance_share: float = Field(default=0.85, gt=0.5, le=1.0)


class ValuePoint(BaseModel):
    """A KPI value at a year, with where the number comes from."""

    model_config = ConfigDict(extra="forbid")

    value: float | None
    year: int = Field(ge=1990, le=2100)
    basis: Literal["policy", "literature", "measured", "provisional"]
    source: str = Field(min_length=3)


class AreaKpi(BaseModel):
    """A KPI chosen for the area, with its baseline, target and interim targets."""

    model_config = ConfigDict(extra="forbid")

    id: str
    baseline: ValuePoint
    target: ValuePoint
    interim: list[ValuePoint] = Field(default_factory=list)

    @model_validator(mode="after")
    def _years_in_order(self) -> AreaKpi:
        if self.target.year <= self.baseline.year:
            raise ValueError(
                f"target year {self.target.year} is not after baseline year "
                f"{self.baseline.year}; set a target year later than the baseline"
            )
        for point in self.interim:
            if not self.baseline.year < point.year < self.target.year:
                raise ValueError(
                    f"interim year {point.year} is not between baseline year "
                    f"{self.baseline.year} and target year {self.target.year}"
                )
        return self


class AreaConfig(BaseModel):
    """The validated content of one ``area_configs/<area>.yaml`` file."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=AREA_ID_PATTERN)
    name: LocalisedText
    description: LocalisedText
    province: str
    boundary: Boundary
    layers: dict[str, LayerRef | str]
    parcel_fields: ParcelFields = Field(default_factory=ParcelFields)
    farm_register: str | None = None
    data_gaps: dict[str, str] = Field(default_factory=dict)
    nature_context_m: float = Field(default=10_000, ge=0, le=50_000)
    water_adjacency_m: float = Field(default=5, ge=0, le=100)
    privacy: PrivacyRules = Field(default_factory=PrivacyRules)
    kpis: list[AreaKpi]
    path: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _check_roles(self) -> AreaConfig:
        unknown = [role for role in self.layers if role not in ROLE_KINDS]
        if unknown:
            raise ValueError(
                f"unknown layer role(s) {', '.join(unknown)}; "
                f"valid roles: {', '.join(ROLE_KINDS)}"
            )
        unknown = [role for role in self.data_gaps if role not in KPI_INPUTS]
        if unknown:
            raise ValueError(
                f"unknown data gap(s) {', '.join(unknown)}; "
                f"valid entries: {', '.join(sorted(KPI_INPUTS))}"
            )
        if self.boundary.clip_to_parcel_extent and "parcels" not in self.layers:
            raise ValueError(
                "boundary.clip_to_parcel_extent needs a parcel layer; "
                "add layers.parcels or set it to false"
            )
        both = sorted(set(self.layers) & set(self.data_gaps))
        if both:
            raise ValueError(
                f"role(s) {', '.join(both)} have a layer and are listed as data "
                "gap; remove them from data_gaps"
            )
        kpi_ids = [kpi.id for kpi in self.kpis]
        if len(kpi_ids) != len(set(kpi_ids)):
            raise ValueError("a KPI is listed twice under kpis")
        return self

    def layer_ref(self, role: str) -> LayerRef | None:
        """Return the layer used in ``role``, or None if the area lacks it."""
        ref = self.layers.get(role)
        if isinstance(ref, str):
            return LayerRef(layer=ref)
        return ref

    def missing_roles(self, roles: list[str]) -> list[str]:
        """Return the inputs in ``roles`` that this area lacks.

        Roles are layer roles (see ``ROLE_KINDS``) or parcel-layer columns
        (see ``FIELD_INPUTS``), which count only when the parcel layer is there.
        """
        missing = []
        for role in roles:
            if role in FIELD_INPUTS:
                field_set = getattr(self.parcel_fields, FIELD_INPUTS[role]) is not None
                if role == "farm_ids" and self.farm_register is not None:
                    field_set = True
                if "parcels" not in self.layers or not field_set:
                    missing.append(role)
            elif role not in self.layers:
                missing.append(role)
        return missing


def area_config_path(configs_dir: Path, area_id: str) -> Path:
    """Return the config path of ``area_id``, rejecting ids that are not names."""
    if not re.fullmatch(AREA_ID_PATTERN, area_id):
        raise ConfigError(
            f"area id {area_id!r} is invalid: use lower-case letters, digits and "
            "underscores, starting with a letter (for example 'noordoostpolder')."
        )
    return Path(configs_dir) / f"{area_id}.yaml"


def list_areas(configs_dir: Path) -> list[str]:
    """Return the ids of all area configs in ``configs_dir``, sorted."""
    return sorted(path.stem for path in Path(configs_dir).glob("*.yaml"))


def load_area_config(
    configs_dir: Path, area_id: str, catalog: Catalog, library: KpiLibrary
) -> AreaConfig:
    """Read, validate and cross-check an area config.

    Raises
    ------
    ConfigError
        If the file is missing or invalid, or refers to a layer, role or KPI
        that does not exist; the message names the file and the key.
    """
    path = area_config_path(configs_dir, area_id)
    if not path.is_file():
        known = ", ".join(list_areas(configs_dir)) or "none"
        raise UnknownIdError(
            f"area config {path} not found. Known areas: {known}. "
            "Create the file or fix the area id."
        )
    config = load_model(AreaConfig, path, "area config")
    config.path = path
    if config.id != area_id:
        raise ConfigError(
            f"area config {path}: id is {config.id!r} but the file is named "
            f"{area_id!r}.yaml; make them equal."
        )
    _cross_check(config, path, catalog, library)
    return config


def _cross_check(
    config: AreaConfig, path: Path, catalog: Catalog, library: KpiLibrary
) -> None:
    refs = {"boundary.layer": config.boundary.layer}
    for role in config.layers:
        ref = config.layer_ref(role)
        assert ref is not None
        refs[f"layers.{role}"] = ref.layer
    for key, layer_id in refs.items():
        if layer_id not in catalog.layer_ids:
            raise UnknownIdError(
                f"area config {path}: {key}: layer {layer_id!r} is not in the "
                f"catalogue. Known layers: {', '.join(catalog.layer_ids)}."
            )
    for role in config.layers:
        ref = config.layer_ref(role)
        assert ref is not None
        entry = catalog.layer(ref.layer)
        if entry.kind != ROLE_KINDS[role]:
            raise ConfigError(
                f"area config {path}: layers.{role}: layer {ref.layer!r} is a "
                f"{entry.kind} layer but role {role!r} needs a {ROLE_KINDS[role]} layer."
            )
        expected = ROLE_UNITS.get(role)
        if expected and normalise_unit(entry.unit or "") != normalise_unit(expected):
            raise ConfigError(
                f"area config {path}: layers.{role}: layer {ref.layer!r} has unit "
                f"{entry.unit!r} but role {role!r} needs {expected!r}. Convert the "
                "layer to that unit, or correct 'unit' in its catalogue entry."
            )
    table_ids = [table.id for table in catalog.tables]
    if config.farm_register is not None and config.farm_register not in table_ids:
        raise UnknownIdError(
            f"area config {path}: farm_register: table {config.farm_register!r} is "
            f"not in the catalogue. Known tables: {', '.join(table_ids)}."
        )
    for index, area_kpi in enumerate(config.kpis):
        if area_kpi.id not in library.ids:
            raise UnknownIdError(
                f"area config {path}: kpis.{index}.id: KPI {area_kpi.id!r} is "
                f"not defined. Known KPIs: {', '.join(library.ids)}."
            )
        kpi = library.get(area_kpi.id)
        points = [("baseline", area_kpi.baseline), ("target", area_kpi.target)]
        points += [(f"interim.{i}", point) for i, point in enumerate(area_kpi.interim)]
        for key, point in points:
            problem = value_range_problem(kpi, point.value)
            if problem:
                raise ConfigError(
                    f"area config {path}: kpis.{index}.{key}.value ({area_kpi.id}): "
                    f"{problem}. Set a possible value."
                )
