"""Disclosure control: what one viewer may see of a build and its farm data.

:func:`disclose` is the one place that decides. Every page, every export and
every library call that shows farm-related data starts from its result
(:class:`Disclosure`) instead of the raw build. The rules:

- A farmer sees the farms they act for. A farmer also sees the farms in the
  same area that consented to be shown to other farmers, but only when one of
  the farmer's own farms lies in that area.
- A coordinator sees the farms that consented to be shown to the coordinator.
- A planner and the public see no single farm.
- Farm identity (``farm_id``) is removed from the parcel table for every
  parcel of a farm the viewer may not see; when the viewer sees no farm the
  column is dropped. Farm KPIs and imported farm figures keep only the rows
  of visible farms.
- Aggregates of farm-level values use only farms that consented to
  ``aggregates`` and are suppressed by the rules in
  :mod:`geo_dashboard.privacy.aggregates`; they are the same for every viewer.

Parcel attributes that come from public layers (crop, area, distance to
Natura 2000, NH3) stay in the parcel table: they carry no farm identity.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

from geo_dashboard.config import PrivacyRules
from geo_dashboard.farms import ILLUSTRATIVE_PREFIX, farm_contributions
from geo_dashboard.kpis import KpiLibrary, load_kpi_library
from geo_dashboard.output import BuildOutput
from geo_dashboard.privacy.aggregates import (
    aggregate_table,
    farm_data_aggregates,
    kpi_aggregates,
)
from geo_dashboard.privacy.viewer import (
    AccessDeniedError,
    Consents,
    Viewer,
    granted,
)

logger = logging.getLogger(__name__)

# Farm id that per-farm tables use for all farms the viewer may not see
# together (see :meth:`Disclosure.pooled_parcels`).
OTHER_FARMS = ""
# Stands in for the farms whose contributions are not computed; no farm
# register can contain it.
_POOLED = "\x00pooled"


@dataclass(frozen=True)
class Disclosure:
    """What one viewer may see of a build: filtered tables and aggregates.

    Attributes
    ----------
    viewer
        The viewer the tables were filtered for.
    rules
        The area's suppression rules.
    build
        The build with ``farm_id`` kept only for visible farms and the farm
        KPI table cut to visible farms. Pass this to maps, exports and the
        scenario engine, never the raw build.
    own_farms
        The viewer's own farms in this area (farmers only).
    visible_farms
        Farms whose identity and values the viewer may see; includes
        ``own_farms``.
    farm_data
        Imported farm figures of the visible farms.
    aggregates
        Area aggregates of farm KPIs and imported figures over consenting
        farms, with ``suppressed`` and ``reason`` (see
        :mod:`geo_dashboard.privacy.aggregates`).
    contributions
        :func:`geo_dashboard.farms.farm_contributions` rows of the visible
        farms that were asked for.
    illustrative
        Whether every farm of the area comes from an illustrative register
        (farm ids starting with ``ILLUSTRATIEF-``), so pages can say so.
    """

    viewer: Viewer
    rules: PrivacyRules
    build: BuildOutput
    own_farms: frozenset[str]
    visible_farms: frozenset[str]
    farm_data: pd.DataFrame
    aggregates: pd.DataFrame
    contributions: pd.DataFrame
    illustrative: bool = False

    def may_see(self, farm_id: str) -> bool:
        """Return whether the viewer may see farm ``farm_id``."""
        return farm_id in self.visible_farms

    def require_farm(self, farm_id: str) -> None:
        """Raise AccessDeniedError unless the viewer may see ``farm_id``."""
        if not self.may_see(farm_id):
            # The message does not confirm whether the farm exists.
            raise AccessDeniedError(
                f"a {self.viewer.role} viewer may not see farm {farm_id!r} in area "
                f"{self.build.area_id!r}: it is not theirs and has not consented"
            )

    def farm_parcels(self, farm_id: str) -> gpd.GeoDataFrame:
        """Return the parcels of a visible farm.

        Raises
        ------
        AccessDeniedError
            If the viewer may not see the farm.
        """
        self.require_farm(farm_id)
        parcels = self.build.parcels
        return parcels[parcels["farm_id"] == farm_id]

    def farm_rows(self, table: pd.DataFrame, column: str = "farm_id") -> pd.DataFrame:
        """Return the rows of a per-farm table that belong to visible farms."""
        return table[table[column].isin(self.visible_farms)]

    def pooled_parcels(self) -> gpd.GeoDataFrame:
        """Return the parcel table with :data:`OTHER_FARMS` for other farms.

        The scenario engine groups results by ``farm_id`` and needs a value on
        every row. Here every parcel of a farm the viewer may not see, and
        every parcel outside the farm register, has the same id. Per-farm
        results therefore pool all of them into one row.
        """
        parcels = self.build.parcels
        if "farm_id" not in parcels:
            return parcels.assign(farm_id=OTHER_FARMS)
        farms = parcels["farm_id"].astype("object")
        return parcels.assign(farm_id=farms.where(farms.notna(), OTHER_FARMS))


def _area_farms(build: BuildOutput) -> frozenset[str]:
    farms: set[str] = set()
    if "farm_id" in build.parcels:
        farms |= set(build.parcels["farm_id"].dropna().astype(str))
    if build.farm_kpis is not None:
        farms |= set(build.farm_kpis["farm_id"].dropna().astype(str))
    return frozenset(farms)


def visible_farms(
    viewer: Viewer, area_farms: frozenset[str], consents: Consents
) -> frozenset[str]:
    """Return the farms of an area whose identity and values ``viewer`` may see.

    Parameters
    ----------
    viewer
        Role and farms of the viewer.
    area_farms
        Farm ids of the area's farm register.
    consents
        Purposes in force per farm.
    """
    if viewer.role == "farmer":
        own = viewer.farms & area_farms
        if not own:
            return frozenset()
        return own | (granted(consents, "farmers") & area_farms)
    if viewer.role == "coordinator":
        return granted(consents, "coordinator") & area_farms
    return frozenset()


def _parcels_for(
    parcels: gpd.GeoDataFrame, visible: frozenset[str]
) -> gpd.GeoDataFrame:
    if "farm_id" not in parcels:
        return parcels.copy()
    if not visible:
        return parcels.drop(columns="farm_id")
    farms = parcels["farm_id"].astype("object")
    return parcels.assign(farm_id=farms.where(farms.isin(visible), None))


def _contributions(
    build: BuildOutput,
    farms: frozenset[str],
    kpi_ids: list[str],
    library: KpiLibrary,
) -> pd.DataFrame:
    if not farms or not kpi_ids or "farm_id" not in build.parcels:
        return pd.DataFrame()
    # Farms that are not asked for share one id: the area totals stay the
    # same and farm_contributions aggregates them once instead of per farm.
    raw = build.parcels["farm_id"].astype("object")
    pooled = raw.where(raw.isin(farms) | raw.isna(), _POOLED)
    parcels = pd.DataFrame(build.parcels.drop(columns=build.parcels.geometry.name))
    parcels["farm_id"] = pooled
    kpis = build.kpis.set_index("kpi_id")
    targets = {
        kpi_id: float(kpis.at[kpi_id, "target_value"])
        for kpi_id in kpi_ids
        if kpi_id in kpis.index and pd.notna(kpis.at[kpi_id, "target_value"])
    }
    table = farm_contributions(parcels, kpi_ids, library, targets)
    if table.empty:
        return table
    return table[table["farm_id"].isin(farms)].reset_index(drop=True)


def disclose(
    viewer: Viewer,
    build: BuildOutput,
    consents: Consents,
    *,
    rules: PrivacyRules | None = None,
    farm_data: pd.DataFrame | None = None,
    library: KpiLibrary | None = None,
    contributions_for: Iterable[str] | None = None,
) -> Disclosure:
    """Return what ``viewer`` may see of ``build`` and the imported farm data.

    Parameters
    ----------
    viewer
        Role and farms of the person the result is shown to.
    build
        The area's build as read from disk, with farm ids on the parcels.
    consents
        Consents in force per farm, read from the store on every render, so
        a withdrawal takes effect at once.
    rules
        Minimum number of farms and dominance share; the defaults of
        :class:`geo_dashboard.config.PrivacyRules` when None.
    farm_data
        Imported farm figures in force (``geo_dashboard.store.farm_data``).
    library
        KPI definitions; the packaged ones when None.
    contributions_for
        Visible farms whose contributions to the area goals are computed.
        None means all visible farms and an empty list means none. Each farm
        costs one KPI aggregation per farm KPI, so pages ask only for the
        farm they show.

    Returns
    -------
    Disclosure
        The filtered build, visible farms and their figures, and the
        aggregates over consenting farms with suppression applied.
    """
    rules = rules or PrivacyRules()
    library = library or load_kpi_library()
    area_farms = _area_farms(build)
    own = viewer.farms & area_farms if viewer.role == "farmer" else frozenset()
    visible = visible_farms(viewer, area_farms, consents)

    farm_kpis = build.farm_kpis
    kpi_ids: list[str] = []
    if farm_kpis is not None:
        kpi_ids = list(dict.fromkeys(farm_kpis["kpi_id"]))
        farm_kpis = farm_kpis[farm_kpis["farm_id"].isin(visible)].reset_index(drop=True)
    filtered = dataclasses.replace(
        build, parcels=_parcels_for(build.parcels, visible), farm_kpis=farm_kpis
    )

    data = (
        farm_data
        if farm_data is not None
        else pd.DataFrame(columns=["farm_id", "year"])
    )
    data = data[data["farm_id"].isin(area_farms)]

    # Aggregates are the same for every viewer: consenting farms only.
    consenting = granted(consents, "aggregates") & area_farms
    rows = []
    if "farm_id" in build.parcels:
        rows += kpi_aggregates(build.parcels, kpi_ids, library, consenting, rules)
        farm_area = build.parcels.groupby("farm_id")["area_ha"].sum()
        rows += farm_data_aggregates(data, farm_area, consenting, rules)

    wanted = (
        visible if contributions_for is None else visible & frozenset(contributions_for)
    )
    logger.debug(
        "disclosure for a %s viewer: %d of %d farms visible, %d consent to aggregates",
        viewer.role,
        len(visible),
        len(area_farms),
        len(consenting),
    )
    return Disclosure(
        viewer=viewer,
        rules=rules,
        build=filtered,
        own_farms=own,
        visible_farms=visible,
        farm_data=data[data["farm_id"].isin(visible)].reset_index(drop=True),
        aggregates=aggregate_table(rows),
        contributions=_contributions(build, wanted, kpi_ids, library),
        illustrative=bool(area_farms)
        and all(farm.startswith(f"{ILLUSTRATIVE_PREFIX}-") for farm in area_farms),
    )
