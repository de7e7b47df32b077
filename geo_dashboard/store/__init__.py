"""Dashboard store: cycles, KPI and target versions, reflections, data gaps,
farm data, consent, users and sessions.

The store is a SQLite file beside the build output by default, or any
database given by the ``GEO_DASHBOARD_DB`` URL (PostgreSQL is tested). Every
write runs in one transaction and every change adds rows, so the history of
an area process stays complete.
"""

from geo_dashboard.store.builds import BuildRecord, record_build
from geo_dashboard.store.consents import (
    ConsentChange,
    consent_history,
    consent_state,
    set_consent,
)
from geo_dashboard.store.cycles import (
    CycleState,
    StartedCycle,
    close_cycle,
    cycle_state,
    cycle_version,
    find_cycle,
    list_cycles,
    start_cycle,
)
from geo_dashboard.store.diff import (
    CycleDiff,
    KpiDelta,
    LayerChange,
    VersionChange,
    diff_cycles,
)
from geo_dashboard.store.engine import (
    DB_ENV,
    Store,
    open_store,
    store_url,
    upgrade_schema,
)
from geo_dashboard.store.errors import CycleNotFoundError, StoreError, StoreInputError
from geo_dashboard.store.export import export_config
from geo_dashboard.store.farm_data import (
    FarmDataImportRecord,
    farm_data,
    import_farm_data,
    list_farm_imports,
)
from geo_dashboard.store.gaps import GapEntry, gaps_for_kpi, list_gaps, set_gap
from geo_dashboard.store.reflections import (
    MapViewSpec,
    add_reflection,
    list_reflections,
)
from geo_dashboard.store.versions import (
    add_kpi,
    kpi_history,
    kpi_states,
    retire_kpi,
    retire_target,
    set_baseline,
    set_target,
)

__all__ = [
    "DB_ENV",
    "BuildRecord",
    "ConsentChange",
    "CycleDiff",
    "CycleNotFoundError",
    "CycleState",
    "FarmDataImportRecord",
    "GapEntry",
    "KpiDelta",
    "LayerChange",
    "MapViewSpec",
    "StartedCycle",
    "Store",
    "StoreError",
    "StoreInputError",
    "VersionChange",
    "add_kpi",
    "add_reflection",
    "close_cycle",
    "consent_history",
    "consent_state",
    "cycle_state",
    "cycle_version",
    "diff_cycles",
    "export_config",
    "farm_data",
    "find_cycle",
    "gaps_for_kpi",
    "import_farm_data",
    "list_farm_imports",
    "kpi_history",
    "kpi_states",
    "list_cycles",
    "list_gaps",
    "list_reflections",
    "open_store",
    "record_build",
    "retire_kpi",
    "retire_target",
    "set_baseline",
    "set_consent",
    "set_gap",
    "set_target",
    "start_cycle",
    "store_url",
    "upgrade_schema",
]
