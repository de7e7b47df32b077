"""All shipped areas build on their real layers, each showing its own data gaps."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from geo_dashboard.catalog import Catalog
from geo_dashboard.output import BuildOutput


@pytest.fixture(scope="module")
def builds(all_builds: dict[str, BuildOutput]) -> dict[str, BuildOutput]:
    return all_builds


def test_three_areas_build(builds: dict[str, BuildOutput]) -> None:
    assert set(builds) == {"noordoostpolder", "groene_hart", "laag_holland"}
    for output in builds.values():
        assert not output.kpis.empty
        assert output.boundary.geometry.iloc[0].area > 0


def test_area_without_parcels_shows_gaps(builds: dict[str, BuildOutput]) -> None:
    output = builds["laag_holland"]
    assert output.parcels.empty
    kpis = output.kpis.set_index("kpi_id")
    parcel_kpis = kpis[kpis.index != "natura2000_nh3_above_1ug"]
    parcel_kpis = parcel_kpis[parcel_kpis.index != "natura2000_nh3_above_3ug"]
    assert (parcel_kpis["status"] == "gap").all()
    assert parcel_kpis["missing_layers"].str.contains("parcels").all()
    assert kpis.loc["natura2000_nh3_above_3ug", "value"] == pytest.approx(89.98, abs=0.01)
    assert len(output.nature) >= 5


def test_peat_emission_matches_hand_sum(builds: dict[str, BuildOutput], catalog: Catalog) -> None:
    output = builds["groene_hart"]
    entry = catalog.layer("gh_somers_peat_emission")
    raw = gpd.read_file(catalog.path(entry), layer=entry.layer)
    inside = raw[raw.geometry.within(output.boundary.geometry.iloc[0].buffer(1e-6))]
    expected = (inside["emission_t"] * inside.geometry.area / 10_000 / 1000).sum()
    kpis = output.kpis.set_index("kpi_id")
    assert kpis.loc["peat_co2_emission", "value"] == pytest.approx(expected, rel=1e-6)
    assert kpis.loc["peat_co2_emission", "unit"] == "t CO2-eq/jr"


def test_peat_share_matches_hand_overlay(builds: dict[str, BuildOutput], catalog: Catalog) -> None:
    output = builds["groene_hart"]
    entry = catalog.layer("gh_bro_soilmap_sample")
    soil = gpd.read_file(catalog.path(entry), layer=entry.layer)
    peat = shapely.union_all(soil.loc[soil["veen_klasse"] == "veengrond"].geometry.values)
    expected = sum(geom.intersection(peat).area for geom in output.parcels.geometry) / 10_000
    kpis = output.kpis.set_index("kpi_id")
    assert kpis.loc["farmland_on_peat", "value"] == pytest.approx(expected, rel=1e-6)


def test_crop_kpis_are_gaps_without_crop_codes(builds: dict[str, BuildOutput]) -> None:
    kpis = builds["groene_hart"].kpis.set_index("kpi_id")
    assert kpis.loc["permanent_grassland_share", "status"] == "gap"
    assert kpis.loc["permanent_grassland_share", "missing_layers"] == "crop_codes"
