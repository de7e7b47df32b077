"""Writing the current state of an area back to area-config YAML.

The area config stays the seed of an area. ``export-config`` writes the KPI
set, baselines, targets and open layer-role gaps from the store into a copy
of that config, so the file can be reviewed and committed.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from geo_dashboard.config import AreaConfig, area_config_path
from geo_dashboard.errors import ConfigError
from geo_dashboard.paths import ProjectPaths
from geo_dashboard.store.engine import Store
from geo_dashboard.store.errors import StoreError
from geo_dashboard.store.gaps import list_gaps
from geo_dashboard.store.versions import area_kpi_model, kpi_states

logger = logging.getLogger(__name__)


def export_config(store: Store, paths: ProjectPaths, area_id: str) -> str:
    """Return the area config YAML with the KPIs and gaps held in the store.

    Keys other than ``kpis`` and ``data_gaps`` are copied from the config
    file. Comments in the original file are not kept, because PyYAML does
    not read them.

    Parameters
    ----------
    store
        An open store.
    paths
        Project folders; the config is read from ``paths.configs``.
    area_id
        Area id.

    Raises
    ------
    StoreError
        If the store has no KPIs for the area.
    ConfigError
        If the config file is missing or the result is not a valid config.
    """
    path = area_config_path(paths.configs, area_id)
    if not path.is_file():
        raise ConfigError(f"area config {path} not found; it is the seed of the export")
    with open(path, encoding="utf-8") as stream:
        data: dict[str, Any] = yaml.safe_load(stream)

    states = kpi_states(store, area_id)
    if not states:
        raise StoreError(
            f"the dashboard store has no KPIs for area {area_id!r}. "
            f"Run: geo-dashboard build {area_id}"
        )
    data["kpis"] = [
        area_kpi_model(row).model_dump(mode="json", exclude_defaults=True)
        for row in states
    ]
    layers = set(data.get("layers") or {})
    data["data_gaps"] = {
        entry.subject: entry.missing
        for entry in list_gaps(store, area_id)
        if entry.subject_kind == "layer"
        and entry.is_open
        and entry.subject not in layers
    }

    try:
        AreaConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(
            f"the exported config of area {area_id!r} is invalid: {err}"
        ) from err
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    header = (
        f"# Area config of {area_id}, exported from the dashboard store on {stamp}.\n"
        f"# KPIs, targets and data gaps come from the store; other keys from "
        f"{Path(path).name}.\n"
    )
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=88)
    logger.info("exported the config of %s (%d KPIs)", area_id, len(states))
    return header + body
