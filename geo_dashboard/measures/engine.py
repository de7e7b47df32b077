"""The scenario engine: measures applied to the per-parcel table of a build.

An assignment gives each parcel at most one measure (an object array aligned
to the engine's rows, ``""`` for none). The engine applies the measures'
effects to the parcel columns, once for each of the low, mid and high effect
values, and computes every KPI with :func:`geo_dashboard.kpis.aggregate_source`,
the code that also computes the build's KPI table. Columns are numpy arrays
converted once per engine (see :mod:`geo_dashboard.measures.columns`), and
where a measure applies, its treated area and its formula effects are
computed once per engine too. All steps are vectorised over parcels; the
loops run over measures, effects and KPIs only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from geo_dashboard.config import AreaConfig
from geo_dashboard.crops import classify_crops, load_crop_table
from geo_dashboard.errors import GeoDashboardError
from geo_dashboard.kpis import (
    KpiDefinition,
    KpiLibrary,
    aggregate,
    aggregate_source,
    row_value_array,
)
from geo_dashboard.measures.columns import (
    BaseColumns,
    ScenarioChanges,
    VariantColumns,
    changed_frame,
)
from geo_dashboard.measures.library import VARIANTS, Measure, MeasureLibrary, Variant
from geo_dashboard.measures.results import (
    NO_MEASURE,
    PLANNING_YEARS,
    ScenarioResult,
    cost_frame,
    farm_frame,
    kpi_frame,
    measure_masks,
)

logger = logging.getLogger(__name__)


class ScenarioError(GeoDashboardError, ValueError):
    """A scenario assigns a measure that is unknown or does not apply."""


@dataclass(frozen=True)
class EngineKpi:
    """A KPI or indicator the engine reports, and whether it can compute it.

    ``status`` is ``computed`` (recomputed per scenario), ``gap`` (a layer
    or column is missing) or ``fixed`` (computed on the Natura 2000 site
    table, which measures on parcels do not change).
    """

    definition: KpiDefinition
    kind: str
    status: str
    target_value: float | None = None
    target_year: int | None = None
    baseline_value: float | None = None
    missing: tuple[str, ...] = ()


class ScenarioEngine:
    """Recompute KPIs of an area for assignments of measures to parcels.

    Parameters
    ----------
    parcels
        The build's parcel table (``parcels.parquet``); geometry is dropped.
    library
        Measure library, already merged with the area's overrides.
    config
        Area config: which KPIs the area tracks, their targets, and which
        layer roles are data gaps.
    kpi_library
        KPI definitions.
    nature
        The build's Natura 2000 site table, for the current value of KPIs on
        that table; they do not change in a scenario.
    """

    def __init__(
        self,
        parcels: pd.DataFrame,
        library: MeasureLibrary,
        config: AreaConfig,
        kpi_library: KpiLibrary,
        nature: pd.DataFrame | None = None,
    ) -> None:
        geometry = [
            name for name in parcels.columns if str(parcels[name].dtype) == "geometry"
        ]
        table = pd.DataFrame(parcels.drop(columns=geometry)).reset_index(drop=True)
        for attribute in library.attributes:
            if attribute.id not in table:
                table[attribute.id] = attribute.baseline
        self.table = table
        self.parcel_ids = pd.Index(table["parcel_id"].astype(str))
        if not self.parcel_ids.is_unique:
            raise ScenarioError("the parcel table has duplicate parcel ids")
        self.area_ha = table["area_ha"].to_numpy(dtype="float64")
        self.library = library
        self.config = config
        self._nature = nature
        self.kpis = self._engine_kpis(kpi_library)
        self._base = BaseColumns(table)
        self._applicable: dict[str, np.ndarray] = {}
        self._treated: dict[str, np.ndarray] = {}

    # --- KPIs -------------------------------------------------------------

    def _engine_kpis(self, kpi_library: KpiLibrary) -> list[EngineKpi]:
        kpis = []
        for area_kpi in self.config.kpis:
            definition = kpi_library.get(area_kpi.id)
            kpis.append(
                self._engine_kpi(
                    definition,
                    "kpi",
                    area_kpi.target.value,
                    area_kpi.target.year,
                    area_kpi.baseline.value,
                )
            )
        for definition in self.library.indicators:
            kpis.append(self._engine_kpi(definition, "indicator", None, None, None))
        return kpis

    def _engine_kpi(
        self,
        definition: KpiDefinition,
        kind: str,
        target: float | None,
        year: int | None,
        baseline: float | None,
    ) -> EngineKpi:
        missing = tuple(self.config.missing_roles(definition.requires))
        if definition.table == "parcels":
            missing += tuple(sorted(definition.columns - set(self.table.columns)))
        if missing:
            status = "gap"
        elif definition.table != "parcels":
            status = "fixed"
        else:
            status = "computed"
        return EngineKpi(definition, kind, status, target, year, baseline, missing)

    def kpi(self, kpi_id: str) -> EngineKpi:
        """Return the engine's entry of KPI or indicator ``kpi_id``."""
        for item in self.kpis:
            if item.definition.id == kpi_id:
                return item
        known = ", ".join(item.definition.id for item in self.kpis)
        raise ScenarioError(
            f"KPI {kpi_id!r} is not tracked in this area. Known: {known}."
        )

    @property
    def computed_kpis(self) -> list[EngineKpi]:
        """KPIs and indicators that scenarios recompute."""
        return [item for item in self.kpis if item.status == "computed"]

    def kpi_values(self, table: pd.DataFrame) -> dict[str, float | None]:
        """Return the value of every computed KPI over ``table``."""
        return {
            item.definition.id: aggregate(item.definition, table)
            for item in self.computed_kpis
        }

    @cached_property
    def current_values(self) -> dict[str, float | None]:
        """KPI values without measures (fixed KPIs from the nature table)."""
        values = {
            item.definition.id: aggregate_source(item.definition, self._unchanged)
            for item in self.computed_kpis
        }
        for item in self.kpis:
            if item.status == "fixed" and self._nature is not None:
                values[item.definition.id] = aggregate(item.definition, self._nature)
        return values

    # --- where measures apply ---------------------------------------------

    def unavailable_reason(self, measure: Measure) -> str | None:
        """Return why ``measure`` cannot be used in this area, or None."""
        missing = sorted(measure.columns_used - set(self.table.columns))
        if missing:
            return f"the parcel table has no column {', '.join(missing)} (data gap)"
        return None

    def applicable(self, measure_id: str) -> np.ndarray:
        """Return a boolean array: where ``measure_id`` applies."""
        if measure_id not in self._applicable:
            measure = self.library.get(measure_id)
            if self.unavailable_reason(measure) is not None:
                mask = np.zeros(len(self.table), dtype=bool)
            else:
                values = self.base_values(measure.applies_to, f"measure {measure_id!r}")
                mask = ~np.isnan(values) & (values != 0.0)
            mask.flags.writeable = False
            self._applicable[measure_id] = mask
        return self._applicable[measure_id]

    def treated_area(self, measure_id: str) -> np.ndarray:
        """Return the treated area in ha per parcel if ``measure_id`` were applied."""
        if measure_id not in self._treated:
            measure = self.library.get(measure_id)
            if self.unavailable_reason(measure) is not None:
                area = np.zeros(len(self.table))
            else:
                values = self.base_values(
                    measure.treated_area_ha, f"measure {measure_id!r}"
                )
                area = np.clip(np.nan_to_num(values, nan=0.0), 0.0, self.area_ha)
            area.flags.writeable = False
            self._treated[measure_id] = area
        return self._treated[measure_id]

    def base_values(self, formula: str, what: str) -> np.ndarray:
        """Return the float64 result of ``formula`` on the parcel table (read-only).

        Raises
        ------
        ConfigError
            If the formula uses a column that the parcel table lacks.
        """
        return self._base.values(formula, what)

    def empty_assignment(self) -> np.ndarray:
        """Return an assignment without measures."""
        return np.full(len(self.table), NO_MEASURE, dtype=object)

    def check_assignment(self, assignment: np.ndarray) -> None:
        """Raise :class:`ScenarioError` if a measure is unknown or does not apply."""
        self._check(assignment, measure_masks(assignment))

    def _check(self, assignment: np.ndarray, masks: dict[str, np.ndarray]) -> None:
        if len(assignment) != len(self.table):
            raise ScenarioError(
                f"assignment has {len(assignment)} entries but the parcel table "
                f"has {len(self.table)} rows"
            )
        for measure_id, rows in masks.items():
            measure = self.library.get(measure_id)
            wrong = rows & ~self.applicable(measure_id)
            if wrong.any():
                ids = self.parcel_ids[wrong]
                listed = ", ".join(ids[:5]) + (
                    f" and {len(ids) - 5} more" if len(ids) > 5 else ""
                )
                reason = self.unavailable_reason(measure)
                condition = reason or f"it applies only where {measure.applies_to}"
                raise ScenarioError(
                    f"measure {measure_id!r} does not apply to parcel {listed}: "
                    f"{condition}. "
                    "Choose parcels where the measure applies or another measure."
                )

    # --- applying measures ------------------------------------------------

    def apply(
        self, assignment: np.ndarray, variants: tuple[Variant, ...] = VARIANTS
    ) -> dict[Variant, pd.DataFrame]:
        """Return the parcel table after the measures, per effect variant.

        Fixed values (``set``, ``formula``, ``set_crop``) are computed once
        and shared by the three tables; only ranged effects differ.
        """
        masks = measure_masks(assignment)
        self._check(assignment, masks)
        tables = self._variants(masks, variants)
        return {
            variant: changed_frame(self.table, table.changes(), set(table.ranged))
            for variant, table in tables.items()
        }

    def _variants(
        self, masks: dict[str, np.ndarray], variants: tuple[Variant, ...]
    ) -> dict[Variant, VariantColumns]:
        """Return the parcel columns after the measures, per effect variant."""
        common = ScenarioChanges(self._base)
        ranged: list[tuple[np.ndarray, str, str, object]] = []
        for measure_id, rows in masks.items():
            measure = self.library.get(measure_id)
            if measure.set_crop is not None:
                for column, value in _crop_values(measure.set_crop).items():
                    if column in self.table:
                        common.put(column, rows, value)
            for column, effect in measure.effects.items():
                if column not in self.table:
                    logger.debug("measure %s: no column %s here", measure_id, column)
                    continue
                if effect.set is not None:
                    value = effect.set
                elif effect.formula is not None:
                    value = self.base_values(effect.formula, f"measure {measure_id!r}")
                else:
                    ranged.append((rows, column, effect.kind, effect.value_range))
                    continue
                common.put(column, rows, value)

        tables: dict[Variant, VariantColumns] = {}
        for variant in variants:
            columns: dict[str, np.ndarray] = {}
            for rows, column, kind, value_range in ranged:
                amount = value_range.get(variant)  # type: ignore[attr-defined]
                current = columns.get(column)
                if current is None:
                    current = common.column(column).astype("float64", copy=True)
                if kind == "reduce_by":
                    current[rows] *= 1.0 - amount
                else:
                    current[rows] += amount
                columns[column] = current
            rate = columns.get("peat_emission_rate")
            if rate is None and "peat_emission_rate" in common.names:
                rate = common.column("peat_emission_rate")
            if rate is not None and "peat_emission_t" in self.table:
                # Same derivation as the build: rate per ha per year to tonnes.
                columns["peat_emission_t"] = rate * self.area_ha / 1000
            tables[variant] = VariantColumns(common, columns, "scenario KPI")
        return tables

    @cached_property
    def _unchanged(self) -> VariantColumns:
        return VariantColumns(ScenarioChanges(self._base), {}, "KPI")

    def evaluate(
        self, assignment: np.ndarray, planning_years: int = PLANNING_YEARS
    ) -> ScenarioResult:
        """Compute KPI changes, costs, farm effects and parcel differences.

        Parameters
        ----------
        assignment
            Measure id per row of the parcel table, ``""`` for none.
        planning_years
            Years over which one-off costs are spread in annualised costs.

        Raises
        ------
        ScenarioError
            If a measure is unknown or assigned where it does not apply.
        """
        masks = measure_masks(assignment)
        self._check(assignment, masks)
        tables = self._variants(masks, VARIANTS)
        changed, ranged = self._changed_columns(masks)
        values: dict[Variant, dict[str, float | None]] = {v: {} for v in VARIANTS}
        for item in self.computed_kpis:
            # A KPI whose columns no measure touches keeps its current value,
            # and one touched only by fixed effects is the same in all variants.
            kpi_id, columns = item.definition.id, item.definition.columns
            if not columns & changed:
                continue
            variants = VARIANTS if columns & ranged else ("mid",)
            for variant in variants:
                values[variant][kpi_id] = aggregate_source(
                    item.definition, tables[variant]
                )
            for variant in VARIANTS:
                values[variant].setdefault(kpi_id, values["mid"][kpi_id])
        result = ScenarioResult(
            kpis=kpi_frame(self, values),
            costs=cost_frame(self, masks),
            farm_effects=farm_frame(self, masks),
            parcel_diff=self._parcel_diff(
                assignment, masks, tables["mid"], changed, planning_years
            ),
            planning_years=planning_years,
        )
        for item in self.kpis:
            if item.status == "fixed":
                result.notes.append(
                    f"{item.definition.id}: computed on Natura 2000 sites; parcel "
                    "measures do not change it in a scenario"
                )
        return result

    @cached_property
    def _parcel_id_column(self) -> pd.Series:
        return pd.Series(self.parcel_ids, index=self.table.index, name="parcel_id")

    @cached_property
    def _current_row_values(self) -> dict[str, np.ndarray]:
        values = {}
        for item in self.computed_kpis:
            array = row_value_array(item.definition, self._unchanged)
            if array is not None:
                array.flags.writeable = False
                values[item.definition.id] = array
        return values

    def _changed_columns(
        self, masks: dict[str, np.ndarray]
    ) -> tuple[set[str], set[str]]:
        """Return the columns the measures change, and those with ranged effects."""
        changed: set[str] = set()
        ranged: set[str] = set()
        for measure_id in masks:
            measure = self.library.get(measure_id)
            changed |= measure.columns_changed
            ranged |= {
                column
                for column, effect in measure.effects.items()
                if effect.value_range is not None
            }
        if "peat_emission_rate" in ranged:
            ranged.add("peat_emission_t")
        return changed, ranged

    def _parcel_diff(
        self,
        assignment: np.ndarray,
        masks: dict[str, np.ndarray],
        table: VariantColumns,
        changed: set[str],
        planning_years: int,
    ) -> pd.DataFrame:
        annual = np.zeros(len(self.table))
        for measure_id, rows in masks.items():
            measure = self.library.get(measure_id)
            cost = (
                measure.cost.annual_eur_ha.mid
                + measure.cost.one_off_eur_ha.mid / planning_years
            )
            annual[rows] = self.treated_area(measure_id)[rows] * cost
        columns: dict[str, object] = {
            "parcel_id": self._parcel_id_column,
            "measure_id": _measure_column(masks, len(self.table)),
            "annualised_cost_mid": annual,
        }
        for kpi_id, current in self._current_row_values.items():
            definition = self.kpi(kpi_id).definition
            if not (definition.columns | {definition.map_column}) & changed:
                columns[kpi_id] = np.where(np.isnan(current), np.nan, 0.0)
                continue
            after = row_value_array(definition, table)
            if after is not None:
                columns[kpi_id] = after - current
        # Copy-on-write (pandas 3) keeps the shared arrays safe without a copy.
        return pd.DataFrame(columns, index=self.table.index, copy=False)


def _measure_column(
    masks: dict[str, np.ndarray], length: int
) -> pd.api.extensions.ExtensionArray:
    """Return the measure id per row, ``""`` for none, as the pandas string array.

    A row in no mask gets ``""`` as well, also where the assignment has None.
    Taking the few ids by code was 5 times faster than letting pandas convert
    an object array of 100,000 strings (pandas 3.1).
    """
    codes = np.zeros(length, dtype="int64")
    for code, rows in enumerate(masks.values(), start=1):
        codes[rows] = code
    names = pd.Series(np.array([NO_MEASURE, *masks], dtype=object))
    return names.array.take(codes)


_CROP_CACHE: dict[int, dict[str, object]] = {}


def _crop_values(code: int) -> dict[str, object]:
    """Return the crop-derived attributes of BRP crop ``code``."""
    if code not in _CROP_CACHE:
        row = classify_crops(pd.Series([code]), load_crop_table(), "measure library")
        _CROP_CACHE[code] = {column: row.iloc[0][column] for column in row.columns}
    return _CROP_CACHE[code]
