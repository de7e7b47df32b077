"""KPI definitions as data, and their computation per parcel and per area.

Definitions live in ``data/kpis.yaml``. Each one names the table it is
computed on (``parcels`` or ``nature``), an aggregation and formulas over the
columns of that table; see :class:`KpiDefinition`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator

from geo_dashboard._yaml import load_model
from geo_dashboard.errors import UnknownIdError
from geo_dashboard.expressions import column_array, evaluate, formula_columns
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
    """Return why ``value`` is impossible for ``kpi`` (e.g. 150 %), else None."""
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


class FormulaSource(Protocol):
    """Rows to compute KPIs on: formula results and columns as numpy arrays."""

    def values(self, formula: str) -> np.ndarray:
        """Return the float64 result of ``formula`` per row."""
        ...

    def column(self, name: str) -> np.ndarray:
        """Return column ``name`` as :func:`.expressions.column_array` does."""
        ...

    def categories(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Return codes into the sorted distinct values of ``name`` (-1 if missing)."""
        ...


class TableSource:
    """A :class:`FormulaSource` over the rows of a DataFrame."""

    def __init__(self, table: pd.DataFrame, what: str) -> None:
        self.table = table
        self.what = what

    def values(self, formula: str) -> np.ndarray:
        return evaluate(formula, self.table, self.what).to_numpy()

    def column(self, name: str) -> np.ndarray:
        return column_array(self.table[name])

    def categories(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        codes, labels = pd.factorize(self.column(name), sort=True)
        return codes, np.asarray(labels)


def aggregate(kpi: KpiDefinition, table: pd.DataFrame) -> float | None:
    """Compute the area value of ``kpi`` over ``table``.

    Rows with a missing input are left out. Returns None when no row has
    data or the denominator is zero, so that a gap is never shown as 0.
    """
    return aggregate_source(kpi, TableSource(table, f"KPI {kpi.id!r}"))


def aggregate_source(kpi: KpiDefinition, source: FormulaSource) -> float | None:
    """Compute the area value of ``kpi`` over ``source``, as :func:`aggregate` does."""
    if kpi.aggregation == "shannon":
        assert kpi.category is not None, "validated: shannon has a category"
        weights = source.values(kpi.weight or "1")
        # Codes into the sorted categories give the same groups in the same
        # order as the categories themselves.
        codes, _ = source.categories(kpi.category)
        valid = ~np.isnan(weights) & (codes >= 0) & (weights > 0)
        if not valid.any():
            return None
        totals = pd.Series(weights[valid]).groupby(codes[valid]).sum()
        shares = totals / totals.sum()
        return float(-(shares * np.log(shares)).sum())

    values = source.values(kpi.value or "0")
    if kpi.aggregation == "sum":
        present = values[~np.isnan(values)]
        return None if present.size == 0 else float(present.sum()) / kpi.scale

    weights = source.values(kpi.weight or "1")
    valid = ~np.isnan(values) & ~np.isnan(weights)
    denominator = float(weights[valid].sum())
    if not valid.any() or denominator == 0:
        return None
    if kpi.aggregation == "share":
        return 100.0 * float(values[valid].sum()) / denominator
    return float((values[valid] * weights[valid]).sum()) / denominator


def aggregate_groups(
    kpi: KpiDefinition, table: pd.DataFrame, keys: pd.Series
) -> pd.Series:
    """Compute ``kpi`` per group of rows (e.g. per farm), with one formula evaluation.

    Gives the same numbers as :func:`aggregate` on each group; a group
    without data or with a zero denominator gets NaN. The index is the sorted
    keys, and rows without a key belong to no group.
    """
    return group_values([kpi], table, keys)[kpi.id]


def group_values(
    kpis: list[KpiDefinition], table: pd.DataFrame, keys: pd.Series
) -> pd.DataFrame:
    """Compute each KPI per group of rows, as :func:`aggregate_groups` does.

    The sums of all KPIs come from one grouped sum, which adds the rows of a
    group in table order with compensated summation, as a grouped sum per
    KPI would. Returns a frame indexed by the sorted keys, one column per KPI.
    """
    codes, groups = pd.factorize(keys, sort=True)
    index = pd.Index(groups, name=keys.name)
    columns: dict[str, np.ndarray] = {}
    shannon: dict[str, pd.Series] = {}
    for position, kpi in enumerate(kpis):
        what = f"KPI {kpi.id!r}"
        if kpi.aggregation == "shannon":
            shannon[kpi.id] = _group_shannon(kpi, table, keys, what).reindex(index)
            continue
        values = evaluate(kpi.value or "0", table, what).to_numpy()
        if kpi.aggregation == "sum":
            valid = ~np.isnan(values)
        else:
            weights = evaluate(kpi.weight or "1", table, what).to_numpy()
            valid = ~np.isnan(values) & ~np.isnan(weights)
            # NaN rows are skipped by the grouped sum, like rows left out.
            columns[f"{position}.weight"] = np.where(valid, weights, np.nan)
            if kpi.aggregation == "weighted_mean":
                columns[f"{position}.product"] = np.where(
                    valid, values * weights, np.nan
                )
        columns[f"{position}.value"] = np.where(valid, values, np.nan)
        columns[f"{position}.rows"] = valid.astype("float64")

    rows = pd.RangeIndex(len(codes))
    sums = pd.DataFrame(columns, index=rows).groupby(codes).sum()
    sums = sums.reindex(range(len(groups)))
    result = pd.DataFrame(index=index)
    for position, kpi in enumerate(kpis):
        if kpi.id in shannon:
            result[kpi.id] = shannon[kpi.id].to_numpy()
            continue
        present = sums[f"{position}.rows"].to_numpy() > 0
        total = sums[f"{position}.value"].to_numpy()
        if kpi.aggregation == "sum":
            values = np.where(present, total / kpi.scale, np.nan)
        else:
            denominator = sums[f"{position}.weight"].to_numpy()
            if kpi.aggregation == "share":
                numerator = 100.0 * total
            else:
                numerator = sums[f"{position}.product"].to_numpy()
            with np.errstate(divide="ignore", invalid="ignore"):
                values = np.where(
                    present & (denominator != 0), numerator / denominator, np.nan
                )
        result[kpi.id] = values
    return result


def _group_shannon(
    kpi: KpiDefinition, table: pd.DataFrame, keys: pd.Series, what: str
) -> pd.Series:
    weights = evaluate(kpi.weight or "1", table, what)
    categories = table[kpi.category]
    valid = weights.notna() & categories.notna() & (weights > 0)
    totals = weights[valid].groupby([keys[valid], categories[valid]]).sum()
    shares = totals / totals.groupby(level=0).transform("sum")
    return -(shares * np.log(shares)).groupby(level=0).sum()


def row_values(kpi: KpiDefinition, table: pd.DataFrame) -> pd.Series | None:
    """Return the per-row (per-parcel) contribution of ``kpi`` for maps.

    ``share`` gives a percentage per row, ``sum`` and ``weighted_mean`` the
    value formula; ``shannon`` has no per-row value and returns None.
    """
    if kpi.map_column is not None:
        return table[kpi.map_column].astype("float64")
    values = row_value_array(kpi, TableSource(table, f"KPI {kpi.id!r}"))
    return None if values is None else pd.Series(values, index=table.index)


def row_value_array(kpi: KpiDefinition, source: FormulaSource) -> np.ndarray | None:
    """Return the per-row value of ``kpi`` over ``source``, like :func:`row_values`."""
    if kpi.map_column is not None:
        return source.column(kpi.map_column).astype("float64")
    if kpi.aggregation == "shannon":
        return None
    values = source.values(kpi.value or "0")
    if kpi.aggregation == "share":
        weights = source.values(kpi.weight or "1")
        return 100.0 * values / np.where(weights != 0, weights, np.nan)
    if kpi.aggregation == "sum":
        return values / kpi.scale
    return values
