"""The KPI set and targets in force: the area config, updated by the store."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from geo_dashboard.config import AreaConfig
from geo_dashboard.paths import ProjectPaths
from geo_dashboard.store.engine import DB_ENV, open_store, store_url
from geo_dashboard.store.versions import area_kpi_model, kpi_states

logger = logging.getLogger(__name__)


def apply_store_targets(config: AreaConfig, paths: ProjectPaths) -> AreaConfig:
    """Return ``config`` with the KPIs and targets that the store holds for its area.

    The area config is the seed of an area; targets changed and KPIs retired
    in a cycle live in the store and take precedence. KPIs that are in the
    config but not yet in the store keep their config entry. Without a store
    (no database URL and no SQLite file yet) the config is returned as it is.
    """
    url = store_url(paths)
    if not os.environ.get(DB_ENV) and not _sqlite_file(url).is_file():
        return config
    store = open_store(url)
    try:
        states = kpi_states(store, config.id, include_retired=True)
    finally:
        store.close()
    if not states:
        return config

    by_id = {row.kpi_id: row for row in states}
    kpis = []
    for area_kpi in config.kpis:
        row = by_id.pop(area_kpi.id, None)
        if row is None:
            kpis.append(area_kpi)
        elif row.active:
            kpis.append(area_kpi_model(row))
    kpis.extend(area_kpi_model(row) for row in by_id.values() if row.active)
    logger.debug("area %s: %d KPIs in force from the store", config.id, len(kpis))
    return config.model_copy(update={"kpis": kpis})


def _sqlite_file(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else Path()
