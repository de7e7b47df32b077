"""geo_dashboard: a living dashboard for Dutch area processes (gebiedsprocessen).

Real GIS layers go in; KPIs per parcel, farm and area, maps and progress
against each area's targets come out.
"""

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

from geo_dashboard.build import build_area  # noqa: E402
from geo_dashboard.catalog import Catalog, load_catalog  # noqa: E402
from geo_dashboard.config import AreaConfig, list_areas, load_area_config  # noqa: E402
from geo_dashboard.kpis import KpiDefinition, load_kpi_library  # noqa: E402
from geo_dashboard.output import BuildOutput, read_build  # noqa: E402
from geo_dashboard.paths import ProjectPaths  # noqa: E402

__all__ = [
    "AreaConfig",
    "BuildOutput",
    "Catalog",
    "KpiDefinition",
    "ProjectPaths",
    "build_area",
    "list_areas",
    "load_area_config",
    "load_catalog",
    "load_kpi_library",
    "read_build",
]
