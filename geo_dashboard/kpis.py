"""KPI definitions as data, and their computation per parcel and per area.

Definitions live in ``data/kpis.yaml``. Each one names the table it is
computed on (``parcels`` or ``nature``), an aggregation and formulas over the
columns of that table; see :class:`KpiDefinition`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator

from geo_dashboard._yaml import load_model
from geo_dashboard.errors import UnknownIdError
from geo_dashboard.expressions import evaluate, formula_columns
from geo_dashboard.paths import package_data
from geo_dashboard.roles import KPI_INPUTS

logger = logging.getLogger(__name__)

Theme = Literal["nature", "climate", "water", "biodiversity", "agriculture", "other"]
THEMES: tuple[str, ...] = Theme.__args__  # type: ignore[attr-defined]


class LocalisedText(BaseModel):
    """A text in Dutch and English."""

    model_config = ConfigDict(extra="forbid")

    nl: str
    en: str

    def get(self, language: str) -> str:
        return self.en if language == "en" else self.nl


class KpiDefinition(BaseModel):
    """One KPI: what it measures, in which unit, and how it is computed.

    ``aggregation`` decides how ``value`` (and ``weight``) combine over the
    rows of ``table``:

    - ``sum``: sum of ``value``, optionally divided by ``scale``;
    - ``share``: 100 * sum(value) / sum(weight), a percentage;
    - ``weighted_mean``: sum(value * weight) / sum(weight);
    - ``shannon``: Shannon diversity index of ``category`` weighted by ``weight``.
    """

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: LocalisedText
    description: LocalisedText
    theme: Theme
    unit: str
    direction: Literal["higher", "lower"]
    level: Literal["parcel", "farm", "area"] = "area"
    table: Literal["parcels", "nature"] = "parcels"
    aggregation: Literal["sum", "share", "weighted_mean", "shannon"]
    value: str | None = None
    weight: str | None = None
    category: str | None = None
    scale: float = 1.0
    requires: list[str] = Field(default_factory=list)
    map_column: str | None = None
    map_unit: str | None = None
    source: str
    quality: Literal["measured", "modelled", "derived", "estimate"]

    @model_validator(mode="after")
    def _fields_for_aggregation(self) -> KpiDefinition:
        needs = {
            "sum": ("value",),
            "share": ("value", "weight"),
            "weighted_mean": ("value", "weight"),
            "shannon": ("category", "weight"),
        }[self.aggregation]
        for key in needs:
            if getattr(self, key) is None:
                raise ValueError(
                    f"KPI {self.id!r} with aggregation {self.aggregation!r} "
                    f"needs a {key!r} formula"
                )
        for formula in (self.value, self.weight):
            if formula is not None:
                formula_columns(formula)
        unknown = sorted(set(self.requires) - KPI_INPUTS)
        if unknown:
            raise ValueError(
                f"KPI {self.id!r} requires unknown input(s) {', '.join(unknown)}; "
                f"valid inputs: {', '.join(sorted(KPI_INPUTS))}"
            )
        return self

    @property
    def columns(self) -> set[str]:
        """Columns of ``table`` that the formulas use."""
        used: set[str] = set()
        for formula in (self.value, self.weight):
            if formula is not None:
                used |= formula_columns(formula)
        if self.category is not None:
            used.add(self.category)
        return used


class KpiLibrary(RootModel[list[KpiDefinition]]):
    """All KPI definitions, in display order."""

    @model_validator(mode="after")
    def _unique_ids(self) -> KpiLibrary:
        ids = [kpi.id for kpi in self.root]
        duplicates = sorted({kpi_id for kpi_id in ids if ids.count(kpi_id) > 1})
        if duplicates:
            raise ValueError(f"KPI ids listed twice: {', '.join(duplicates)}")
        return self

    @property
    def ids(self) -> list[str]:
        return [kpi.id for kpi in self.root]

    def get(self, kpi_id: str) -> KpiDefinition:
        for kpi in self.root:
            if kpi.id == kpi_id:
                return kpi
        raise UnknownIdError(
            f"KPI {kpi_id!r} is not defined. Known KPIs: {', '.join(self.ids)}. "
            "Define it in the KPI definitions file or fix the id."
        )


# Units whose values cannot be negative, and the upper bound where one exists.
_BOUNDED_UNITS: dict[str, float] = {"%": 100.0}
_NON_NEGATIVE_UNITS = {"%", "ha", "km", "index", "µg/m³", "mol N/ha/jr", "t CO2-eq/jr"}


def value_range_problem(kpi: KpiDefinition, value: float | None) -> str | None:
    """Return why ``value`` is impossible for ``kpi`` (e.g. 150 %), or None if it fits."""
    if value is None:
        return None
    if kpi.unit in _NON_NEGATIVE_UNITS and value < 0:
        return f"{value:g} {kpi.unit} is negative; KPI {kpi.id!r} cannot be below 0"
    upper = _BOUNDED_UNITS.get(kpi.unit)
    if upper is not None and value > upper:
        return f"{value:g} {kpi.unit} is above {upper:g}; KPI {kpi.id!r} is a share"
    return None


def load_kpi_library(path: Path | None = None) -> KpiLibrary:
    """Read the KPI definitions (the packaged ``kpis.yaml`` by default)."""
    return load_model(KpiLibrary, path or package_data("kpis.yaml"), "KPI file")


def aggregate(kpi: KpiDefinition, table: pd.DataFrame) -> float | None:
    """Compute the area value of ``kpi`` over ``table``.

    Rows with a missing input are left out. Returns None when no row has
    data or the denominator is zero, so that a gap is never shown as 0.
    """
    what = f"KPI {kpi.id!r}"
    if kpi.aggregation == "shannon":
        weights = evaluate(kpi.weight or "1", table, what)
        groups = table[kpi.category]
        valid = weights.notna() & groups.notna() & (weights > 0)
        if not valid.any():
            return None
        totals = weights[valid].groupby(groups[valid]).sum()
        shares = totals / totals.sum()
        return float(-(shares * np.log(shares)).sum())

    values = evaluate(kpi.value or "0", table, what)
    if kpi.aggregation == "sum":
        valid = values.dropna()
        return None if valid.empty else float(valid.sum()) / kpi.scale

    weights = evaluate(kpi.weight or "1", table, what)
    valid = values.notna() & weights.notna()
    denominator = float(weights[valid].sum())
    if not valid.any() or denominator == 0:
        return None
    if kpi.aggregation == "share":
        return 100.0 * float(values[valid].sum()) / denominator
    return float((values[valid] * weights[valid]).sum()) / denominator


def aggregate_groups(kpi: KpiDefinition, table: pd.DataFrame, keys: pd.Series) -> pd.Series:
    """Compute ``kpi`` per group of rows (e.g. per farm), with one formula evaluation.

    Gives the same numbers as :func:`aggregate` on each group; a group
    without data or with a zero denominator gets NaN.
    """
    what = f"KPI {kpi.id!r}"
    if kpi.aggregation == "shannon":
        weights = evaluate(kpi.weight or "1", table, what)
        groups = table[kpi.category]
        valid = weights.notna() & groups.notna() & (weights > 0)
        totals = weights[valid].groupby([keys[valid], groups[valid]]).sum()
        shares = totals / totals.groupby(level=0).transform("sum")
        return -(shares * np.log(shares)).groupby(level=0).sum()

    values = evaluate(kpi.value or "0", table, what)
    if kpi.aggregation == "sum":
        valid = values.notna()
        return values[valid].groupby(keys[valid]).sum() / kpi.scale

    weights = evaluate(kpi.weight or "1", table, what)
    valid = values.notna() & weights.notna()
    denominator = weights[valid].groupby(keys[valid]).sum()
    if kpi.aggregation == "share":
        numerator = 100.0 * values[valid].groupby(keys[valid]).sum()
    else:
        numerator = (values[valid] * weights[valid]).groupby(keys[valid]).sum()
    return (numerator / denominator).where(denominator != 0)


def row_values(kpi: KpiDefinition, table: pd.DataFrame) -> pd.Series | None:
    """Return the per-row (per-parcel) contribution of ``kpi`` for maps.

    ``share`` gives a percentage per row, ``sum`` and ``weighted_mean`` the
    value formula; ``shannon`` has no per-row value and returns None.
    """
    if kpi.map_column is not None:
        return table[kpi.map_column].astype("float64")
    if kpi.aggregation == "shannon":
        return None
    what = f"KPI {kpi.id!r}"
    values = evaluate(kpi.value or "0", table, what)
    if kpi.aggregation == "share":
        weights = evaluate(kpi.weight or "1", table, what)
        return (100.0 * values / weights.where(weights != 0)).astype("float64")
    if kpi.aggregation == "sum":
        return values / kpi.scale
    return values
