"""Farms: the illustrative register, roll-up to the area, and farm data import."""

from __future__ import annotations

import pandas as pd
import pytest

from geo_dashboard.farm_import import FarmDataError, parse_number, read_farm_data
from geo_dashboard.farms import (
    attach_farms,
    farm_contributions,
    illustrative_register,
    read_register,
)
from geo_dashboard.kpis import load_kpi_library
from geo_dashboard.output import BuildOutput
from geo_dashboard.errors import LayerError
from tests.conftest import REPO

LIBRARY = load_kpi_library()
REGISTER = REPO / "layers" / "noordoostpolder" / "illustrative_farm_register.csv"


def test_shipped_register_is_reproducible(pilot_build: BuildOutput) -> None:
    shipped = read_register(REGISTER)
    regenerated = illustrative_register(pilot_build.parcels)
    pd.testing.assert_frame_equal(
        shipped.sort_values("parcel_id").reset_index(drop=True),
        regenerated.sort_values("parcel_id").reset_index(drop=True),
    )
    assert shipped["farm_id"].str.startswith("ILLUSTRATIEF-").all()


def test_every_pilot_parcel_has_a_farm(pilot_build: BuildOutput) -> None:
    assert pilot_build.parcels["farm_id"].notna().all()
    assert pilot_build.parcels["farm_id"].nunique() == 56
    assert pilot_build.farm_kpis is not None


@pytest.mark.parametrize("kpi_id", ["farmland_within_1km_natura2000", "nitrate_risk_arable_share",
                                    "nh3_concentration_farmland", "agri_environment_share"])
def test_farms_roll_up_to_area(pilot_build: BuildOutput, kpi_id: str) -> None:
    kpi = LIBRARY.get(kpi_id)
    farm_values = pilot_build.farm_kpis[pilot_build.farm_kpis["kpi_id"] == kpi_id]
    area_value = pilot_build.kpis.set_index("kpi_id").loc[kpi_id, "value"]
    if kpi.aggregation == "sum":
        assert farm_values["value"].sum() == pytest.approx(area_value)
    else:
        # A farm's value is its own share or mean; weighting by the farm's
        # denominator gives the area value back.
        parcels = pilot_build.parcels
        weights = parcels.groupby("farm_id").apply(
            lambda farm: float((farm.eval(kpi.weight)).sum()), include_groups=False
        )
        joined = farm_values.set_index("farm_id")["value"].dropna()
        rolled = (joined * weights.loc[joined.index]).sum() / weights.loc[joined.index].sum()
        assert rolled == pytest.approx(area_value)


def test_contributions_against_area_target(pilot_build: BuildOutput) -> None:
    kpi_ids = ["nitrate_risk_arable_share", "farmland_within_1km_natura2000"]
    targets = {"nitrate_risk_arable_share": 50.0, "farmland_within_1km_natura2000": 0.0}
    table = farm_contributions(pilot_build.parcels, kpi_ids, LIBRARY, targets)
    share = table[table["kpi_id"] == "nitrate_risk_arable_share"].dropna(subset=["value"])
    assert (share["gap_to_target"] == 50.0 - share["value"]).all()
    summed = table[table["kpi_id"] == "farmland_within_1km_natura2000"]
    assert (summed["task_per_ha"] == 0.0).all()
    assert summed["farm_id"].nunique() == 56


def test_unregistered_parcels_have_no_farm(pilot_build: BuildOutput) -> None:
    register = read_register(REGISTER).iloc[10:]
    attached = attach_farms(pilot_build.parcels.drop(columns="farm_id"), register)
    assert attached["farm_id"].isna().sum() == 10


def test_register_with_duplicate_parcel(tmp_path) -> None:
    path = tmp_path / "register.csv"
    path.write_text("parcel_id,farm_id\n1,A\n2,A\n1,B\n", encoding="utf-8")
    with pytest.raises(LayerError, match=r"row 4: parcel '1' is listed twice"):
        read_register(path)


def test_register_missing_column(tmp_path) -> None:
    path = tmp_path / "register.csv"
    path.write_text("parcel,farm_id\n1,A\n", encoding="utf-8")
    with pytest.raises(LayerError, match=r"missing column\(s\) parcel_id"):
        read_register(path)


@pytest.mark.parametrize(
    "text, decimal, expected",
    [("1.234,5", ",", 1234.5), ("12,5", ",", 12.5), ("1 234,5", ",", 1234.5),
     ("1,234.5", ".", 1234.5), ("12.5", ".", 12.5), ("-3", ".", -3.0), ("65%", ".", 65.0)],
)
def test_parse_number(text: str, decimal: str, expected: float) -> None:
    assert parse_number(text, decimal) == expected


@pytest.mark.parametrize("text, decimal", [("1.23,4", ","), ("12,5", "."), ("abc", "."), ("1,2,3", ".")])
def test_parse_number_rejects(text: str, decimal: str) -> None:
    with pytest.raises(ValueError):
        parse_number(text, decimal)


def test_dutch_csv_with_decimal_commas(tmp_path) -> None:
    path = tmp_path / "farms.csv"
    path.write_text(
        "farm_id;year;n_soil_surplus_kg_ha;ghg_emission_t_co2e;protein_own_land_pct\n"
        "ILLUSTRATIEF-171-523;2023;112,5;1.234,5;65\n", encoding="utf-8",
    )
    table = read_farm_data(path, known_farms={"ILLUSTRATIEF-171-523"})
    assert table.loc[0, "n_soil_surplus_kg_ha"] == 112.5
    assert table.loc[0, "ghg_emission_t_co2e"] == 1234.5


def test_malformed_file_names_row_and_column(tmp_path) -> None:
    path = tmp_path / "farms.csv"
    path.write_text(
        "farm_id,year,nh3_emission_kg_ha,grazing_days\n"
        "A,2023,45.5,120\n"
        "B,2023,veel,120\n"
        "C,2023,12,400\n"
        "X,2023,1,1\n", encoding="utf-8",
    )
    with pytest.raises(FarmDataError) as caught:
        read_farm_data(path, known_farms={"A", "B", "C"})
    message = str(caught.value)
    assert "nothing was imported" in message
    assert "row 3, column 'nh3_emission_kg_ha': 'veel' is not a number" in message
    assert "row 4, column 'grazing_days': '400' is outside 0..366" in message
    assert "row 5, column 'farm_id': farm 'X' is not in the farm register" in message


def test_unknown_column_rejected(tmp_path) -> None:
    path = tmp_path / "farms.csv"
    path.write_text("farm_id,year,milk_litres\nA,2023,5\n", encoding="utf-8")
    with pytest.raises(FarmDataError, match=r"unknown column\(s\) milk_litres"):
        read_farm_data(path)


def test_excel_import(tmp_path) -> None:
    path = tmp_path / "farms.xlsx"
    pd.DataFrame({"farm_id": ["A"], "year": [2023], "nh3_emission_kg_ha": [41.25]}).to_excel(path, index=False)
    table = read_farm_data(path, known_farms={"A"})
    assert table.loc[0, "nh3_emission_kg_ha"] == 41.25
