"""The pilot build on real layers, reprojection, and bad layers that must not break it."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from geo_dashboard.build import build_area
from geo_dashboard.errors import (
    BuildNotFoundError,
)
from geo_dashboard.output import BuildOutput, read_build
from geo_dashboard.paths import ProjectPaths
from tests.editing import edit_config, set_catalog

PILOT = "noordoostpolder"
GAP_KPIS = {"n_deposition_farmland", "farmland_in_nnn", "peat_co2_emission", "farmland_on_peat"}


def test_pilot_parcels(pilot_build: BuildOutput) -> None:
    parcels = pilot_build.parcels
    assert len(parcels) == 1698
    assert parcels["parcel_id"].is_unique
    assert parcels.crs.to_epsg() == 28992
    assert parcels["area_ha"].sum() == pytest.approx(3269.38, abs=0.1)
    assert (parcels["land_use"] != "unknown").all()
    assert parcels["n2000_share"].eq(0).all()
    assert parcels["n2000_distance_m"].min() > 2000
    assert parcels["nh3_mean"].between(2.0, 17.0).all()
    np.testing.assert_allclose(parcels["nh3_coverage"], 1.0, rtol=1e-9)


def test_pilot_boundary_is_parcel_extent(pilot_build: BuildOutput) -> None:
    boundary = pilot_build.boundary.geometry.iloc[0]
    xmin, ymin, xmax, ymax = boundary.bounds
    assert boundary.area / 10_000 == pytest.approx(3904.06, abs=0.5)
    assert (xmin, ymin) == pytest.approx(tuple(pilot_build.parcels.total_bounds[:2]))
    assert (xmax, ymax) == pytest.approx(tuple(pilot_build.parcels.total_bounds[2:]))


def test_missing_attributes_are_not_zero(pilot_build: BuildOutput) -> None:
    for column in ("nnn_share", "peat_share", "water_length_m", "peat_emission_t"):
        assert column not in pilot_build.parcels.columns


def test_pilot_kpis(pilot_build: BuildOutput) -> None:
    kpis = pilot_build.kpis.set_index("kpi_id")
    gaps = kpis[kpis["status"] == "gap"]
    assert set(gaps.index) == GAP_KPIS
    assert gaps["value"].isna().all()
    assert kpis.loc["peat_co2_emission", "missing_layers"] == "peat_emission"
    assert kpis.loc["farmland_within_1km_natura2000", "value"] == 0.0
    assert kpis.loc["natura2000_nh3_above_1ug", "value"] == pytest.approx(100.0)
    assert kpis.loc["natura2000_nh3_above_3ug", "value"] == pytest.approx(40.92, abs=0.01)
    assert kpis.loc["nh3_concentration_farmland", "value"] == pytest.approx(5.195, abs=0.001)
    assert kpis.loc["nitrate_risk_arable_share", "value"] == pytest.approx(58.53, abs=0.01)
    assert kpis.loc["crop_diversity_shannon", "value"] == pytest.approx(1.996, abs=0.001)
    computed = kpis[kpis["status"] != "gap"]
    assert computed["value"].notna().all()
    assert set(computed["status"]) <= {"on_track", "reached", "behind"}


def test_nature_table(pilot_build: BuildOutput) -> None:
    nature = pilot_build.nature.set_index("site")
    assert set(nature.index) == {"IJsselmeer", "Ketelmeer & Vossemeer"}
    assert bool(nature.loc["IJsselmeer", "n_sensitive"]) is True
    assert nature["nh3_share_above_1"].between(0, 1).all()
    assert (nature["nh3_share_above_1"] >= nature["nh3_share_above_3"]).all()


def test_manifest_records_layer_versions(pilot_build: BuildOutput) -> None:
    manifest = pilot_build.manifest
    ids = {layer["id"] for layer in manifest["layers"]}
    assert ids == {"nop_brp_parcels_2023", "nop_aoi_boundary", "nop_natura2000", "nop_nh3_2023"}
    assert all(len(layer["sha256"]) == 64 for layer in manifest["layers"])
    assert "nnn" in manifest["data_gaps"]


def test_build_round_trips(pilot_build: BuildOutput, pilot_paths: ProjectPaths) -> None:
    again = read_build(pilot_paths.builds, PILOT)
    assert again.folder == pilot_build.folder
    pd.testing.assert_frame_equal(
        again.parcels.drop(columns="geometry"),
        pilot_build.parcels.drop(columns="geometry"),
        check_dtype=False,
    )


def test_read_build_without_build(tmp_path) -> None:
    with pytest.raises(BuildNotFoundError, match=r"Run: geo-dashboard build noordoostpolder"):
        read_build(tmp_path, PILOT)


def test_layer_in_wgs84_gives_same_result(sandbox: ProjectPaths, pilot_build: BuildOutput) -> None:
    parcels_path = sandbox.layers / "noordoostpolder" / "brp_gewaspercelen_2023.gpkg"
    wgs84 = gpd.read_file(parcels_path).to_crs(4326)
    parcels_path.unlink()
    wgs84.to_file(parcels_path, layer="brp_gewaspercelen", driver="GPKG")
    set_catalog(sandbox, "nop_brp_parcels_2023", crs="EPSG:4326")

    result = build_area(PILOT, sandbox).parcels.set_index("parcel_id")
    expected = pilot_build.parcels.set_index("parcel_id").loc[result.index]
    np.testing.assert_allclose(result["area_ha"], expected["area_ha"], rtol=1e-3)
    np.testing.assert_allclose(result["nh3_mean"], expected["nh3_mean"], rtol=1e-3)
    np.testing.assert_allclose(result["n2000_distance_m"], expected["n2000_distance_m"], atol=1.0)
    assert (result["land_use"] == expected["land_use"]).all()


def test_gap_computes_once_layer_added(sandbox: ProjectPaths) -> None:
    # The municipality outlines stand in for an NNN layer: any real polygon
    # layer in the nnn role must turn the gap into a value on the next build.
    def add_nnn(config: dict) -> None:
        config["layers"]["nnn"] = "nop_gemeenten"
        del config["data_gaps"]["nnn"]

    edit_config(sandbox, PILOT, add_nnn)

    output = build_area(PILOT, sandbox)
    kpis = output.kpis.set_index("kpi_id")
    assert kpis.loc["farmland_in_nnn", "status"] != "gap"
    assert 0 < kpis.loc["farmland_in_nnn", "value"] <= output.parcels["area_ha"].sum() + 1e-6
    assert output.parcels["nnn_share"].between(0, 1).all()


def test_filled_gap_resolved_in_register(sandbox: ProjectPaths) -> None:
    from geo_dashboard.store import list_gaps, open_store, store_url

    build_area(PILOT, sandbox)

    def add_nnn(config: dict) -> None:
        config["layers"]["nnn"] = "nop_gemeenten"
        del config["data_gaps"]["nnn"]

    edit_config(sandbox, PILOT, add_nnn)
    build_area(PILOT, sandbox)
    with open_store(store_url(sandbox)) as store:
        gaps = {gap.subject: gap for gap in list_gaps(store, PILOT)}
    assert gaps["nnn"].status == "resolved"
    assert "nop_gemeenten" in (gaps["nnn"].note or "")
    assert gaps["peat_soil"].status == "open"
