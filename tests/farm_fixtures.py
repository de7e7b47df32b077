"""Fixtures and helpers shared by the farm, privacy and login tests.

Farms A, B and C are three illustrative farms of the pilot register. The
store fixture is a fresh SQLite file per test in which the session's pilot
build is recorded, so consents and users of one test never reach another.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from geo_dashboard.output import BuildOutput
from geo_dashboard.paths import ProjectPaths
from geo_dashboard.privacy import Disclosure
from geo_dashboard.store import Store, open_store, record_build

FARM_A = "ILLUSTRATIEF-173-526"
FARM_B = "ILLUSTRATIEF-173-525"
FARM_C = "ILLUSTRATIEF-174-526"
PASSWORD_A = "akker-en-klei-2023"
PASSWORD_B = "polder-wind-2023!"
PASSWORD_COORDINATOR = "gebiedsproces-nop"


@pytest.fixture()
def store_url(
    tmp_path: Path, pilot_paths: ProjectPaths, pilot_build: BuildOutput
) -> str:
    """URL of a new SQLite store that knows the pilot area."""
    url = f"sqlite:///{tmp_path / 'dashboard.sqlite'}"
    record_build(pilot_paths, pilot_build, url=url)
    return url


@pytest.fixture()
def farm_store(store_url: str) -> Iterator[Store]:
    """The store of :func:`store_url`, open for the test."""
    with open_store(store_url) as store:
        yield store


def table_text(table: pd.DataFrame | None) -> str:
    """Return every cell and column name of ``table`` as text (geometry left out)."""
    if table is None:
        return ""
    geometry = [name for name in table.columns if str(table[name].dtype) == "geometry"]
    return pd.DataFrame(table.drop(columns=geometry)).to_csv(index=False)


def disclosure_text(disclosure: Disclosure) -> str:
    """Return the text of every table a disclosure hands out."""
    return "\n".join(
        [
            table_text(disclosure.build.parcels),
            table_text(disclosure.build.farm_kpis),
            table_text(disclosure.build.kpis),
            table_text(disclosure.farm_data),
            table_text(disclosure.aggregates),
            table_text(disclosure.contributions),
            " ".join(sorted(disclosure.visible_farms)),
        ]
    )


def parcels_of(build: BuildOutput, farm_id: str) -> list[str]:
    """Return the parcel ids of ``farm_id`` in the raw build."""
    parcels = build.parcels
    return sorted(parcels.loc[parcels["farm_id"] == farm_id, "parcel_id"].astype(str))
