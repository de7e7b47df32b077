"""The measure library: measures as data, with their effects, costs and sources.

The shared library is ``data/measures.yaml`` in the package; an area can
override it (see :mod:`geo_dashboard.measures.loader`).

A measure's effect is a change of parcel attributes (see :class:`Effect`),
so that scenario KPIs are computed with the same KPI definitions as the
build. Every number is a low/mid/high :class:`ValueRange` with its basis
(``literature``, ``estimate`` or ``mixed``) and its source.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from geo_dashboard.crops import LAND_USES
from geo_dashboard.errors import UnknownIdError
from geo_dashboard.expressions import formula_columns
from geo_dashboard.kpis import KpiDefinition, LocalisedText

logger = logging.getLogger(__name__)

Variant = Literal["low", "mid", "high"]
VARIANTS: tuple[Variant, ...] = ("low", "mid", "high")
Scalar = bool | int | float | str

# Columns of the build's parcel table (docs/kpis.md) and the values a
# measure may set on them. None means any number.
PARCEL_COLUMNS: dict[str, Any] = {
    "parcel_id": None,
    "area_ha": None,
    "farm_id": None,
    "crop_code": None,
    "crop_name": None,
    "brp_category": None,
    "land_use": sorted(LAND_USES | {"unknown"}),
    "crop_group": None,
    "permanent_grassland": bool,
    "agri_environment": bool,
    "nitrate_risk_high": bool,
    "arable": bool,
    "n2000_share": None,
    "n2000_distance_m": None,
    "nnn_share": None,
    "peat_share": None,
    "water_length_m": None,
    "peat_emission_rate": None,
    "peat_emission_t": None,
    "nh3_mean": None,
    "nh3_coverage": None,
    "n_deposition_mean": None,
}
# Columns a measure cannot change: identity, geometry-derived area and
# columns that the engine derives from others.
FIXED_COLUMNS = {"parcel_id", "area_ha", "farm_id", "peat_emission_t"}
# Columns that ``set_crop`` fills from the crop table.
CROP_ATTRIBUTES = (
    "crop_code",
    "crop_name",
    "brp_category",
    "land_use",
    "crop_group",
    "permanent_grassland",
    "agri_environment",
    "nitrate_risk_high",
    "arable",
)


class ValueRange(BaseModel):
    """A number as low, mid and high estimate, with its basis and source.

    The three values must be ordered (rising or falling), so that "low"
    and "high" are the two ends of the range. ``basis: mixed`` means that
    some values come from literature and others are estimates, and
    ``source`` then states which value is which.
    """

    model_config = ConfigDict(extra="forbid")

    low: float
    mid: float
    high: float
    basis: Literal["literature", "estimate", "mixed"]
    source: str = Field(min_length=3)

    @model_validator(mode="after")
    def _ordered(self) -> ValueRange:
        rising = self.low <= self.mid <= self.high
        falling = self.low >= self.mid >= self.high
        if not (rising or falling):
            raise ValueError(
                f"low {self.low}, mid {self.mid}, high {self.high} are not in "
                "order; mid must lie between low and high"
            )
        return self

    def get(self, variant: Variant) -> float:
        """Return the value of ``variant`` (``low``, ``mid`` or ``high``)."""
        return float(getattr(self, variant))


class Effect(BaseModel):
    """The change a measure makes to one parcel attribute.

    Exactly one of:

    - ``set``: a fixed value (text, number or true/false);
    - ``formula``: the value of a formula over the parcel table;
    - ``reduce_by``: multiply by ``1 - fraction``, with fractions in 0-1;
    - ``add``: add an amount in the attribute's own unit (per hectare for
      per-hectare attributes).

    ``set_crop`` is a shorthand under the measure, not an effect.
    """

    model_config = ConfigDict(extra="forbid")

    set: Scalar | None = None
    formula: str | None = None
    reduce_by: ValueRange | None = None
    add: ValueRange | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Effect:
        given = [
            name
            for name in ("set", "formula", "reduce_by", "add")
            if getattr(self, name) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of set, formula, reduce_by or add "
                f"(got {', '.join(given) or 'none'})"
            )
        if self.reduce_by is not None:
            values = (self.reduce_by.low, self.reduce_by.mid, self.reduce_by.high)
            if not all(0.0 <= value <= 1.0 for value in values):
                raise ValueError("reduce_by fractions must lie between 0 and 1")
        return self

    @field_validator("formula")
    @classmethod
    def _safe_formula(cls, formula: str | None) -> str | None:
        if formula is not None:
            formula_columns(formula)
        return formula

    @property
    def kind(self) -> str:
        """Name of the effect kind: set, formula, reduce_by or add."""
        for name in ("set", "formula", "reduce_by", "add"):
            if getattr(self, name) is not None:
                return name
        raise AssertionError("validated effect has no kind")

    @property
    def value_range(self) -> ValueRange | None:
        """The low/mid/high range of a ``reduce_by`` or ``add`` effect."""
        return self.reduce_by or self.add


class Cost(BaseModel):
    """Cost of a measure per hectare of treated area, in EUR."""

    model_config = ConfigDict(extra="forbid")

    annual_eur_ha: ValueRange
    one_off_eur_ha: ValueRange


class FarmEffects(BaseModel):
    """Effects on the farm business per hectare of treated area.

    ``income_eur_ha_yr`` is the change of farm income before any payment
    for the measure. ``yield_change_pct`` is the change of the crop or grass
    yield in percent, and ``workload_h_ha_yr`` the extra labour in hours.
    """

    model_config = ConfigDict(extra="forbid")

    income_eur_ha_yr: ValueRange
    yield_change_pct: ValueRange | None = None
    workload_h_ha_yr: ValueRange | None = None


class Measure(BaseModel):
    """One measure: where it applies, what it changes, what it costs."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: LocalisedText
    description: LocalisedText
    theme: str
    applies_to: str
    treated_area_ha: str = "area_ha"
    set_crop: int | None = None
    effects: dict[str, Effect] = Field(default_factory=dict)
    cost: Cost
    farm: FarmEffects

    @field_validator("applies_to", "treated_area_ha")
    @classmethod
    def _safe_formula(cls, formula: str) -> str:
        formula_columns(formula)
        return formula

    @model_validator(mode="after")
    def _check(self) -> Measure:
        if self.set_crop is None and not self.effects:
            raise ValueError("a measure needs set_crop or at least one effect")
        if self.set_crop is not None:
            both = sorted(set(self.effects) & set(CROP_ATTRIBUTES))
            if both:
                raise ValueError(
                    f"set_crop already sets {', '.join(both)}; remove those effects"
                )
        return self

    @property
    def columns_used(self) -> set[str]:
        """Parcel columns that the measure's formulas read."""
        used = formula_columns(self.applies_to) | formula_columns(self.treated_area_ha)
        for effect in self.effects.values():
            if effect.formula is not None:
                used |= formula_columns(effect.formula)
        return used

    @property
    def columns_changed(self) -> set[str]:
        """Parcel columns that the measure changes."""
        changed = set(self.effects)
        if self.set_crop is not None:
            changed |= set(CROP_ATTRIBUTES)
        if "peat_emission_rate" in changed:
            changed.add("peat_emission_t")
        return changed


class ScenarioAttribute(BaseModel):
    """A parcel attribute that only scenarios use, with its value today."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    unit: str
    baseline: Scalar = 0
    description: LocalisedText


class MeasureLibrary(BaseModel):
    """Measures, the scenario attributes they set and indicators over them.

    Indicators are KPI definitions over the parcel table and the scenario
    attributes, for effects that no area KPI shows (for example the change
    of ammonia emission). They are computed with the same aggregation code.
    """

    model_config = ConfigDict(extra="forbid")

    attributes: list[ScenarioAttribute] = Field(default_factory=list)
    indicators: list[KpiDefinition] = Field(default_factory=list)
    measures: list[Measure]
    path: Path | None = Field(default=None, exclude=True)

    def get(self, measure_id: str) -> Measure:
        """Return the measure ``measure_id``."""
        for measure in self.measures:
            if measure.id == measure_id:
                return measure
        raise UnknownIdError(
            f"measure {measure_id!r} is not in the measure library. Known "
            f"measures: {', '.join(self.ids)}."
        )

    @property
    def ids(self) -> list[str]:
        """Measure ids in library order."""
        return [measure.id for measure in self.measures]
