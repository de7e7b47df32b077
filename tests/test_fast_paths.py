"""Vectorised shortcuts give the results of the plain pandas and raster computations."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely

from geo_dashboard import spatial
from geo_dashboard.catalog import Catalog, load_catalog
from geo_dashboard.config import load_area_config
from geo_dashboard.errors import ConfigError
from geo_dashboard.expressions import evaluate
from geo_dashboard.kpis import load_kpi_library
from geo_dashboard.measures.engine import ScenarioEngine
from geo_dashboard.measures.library import VARIANTS
from geo_dashboard.measures.loader import load_measure_library
from geo_dashboard.measures.scenario import RuleStep, Scenario
from geo_dashboard.spatial import zonal_statistics

AREA = "noordoostpolder"
PILOT_NH3 = "nop_nh3_2023"

TABLE = pd.DataFrame(
    {
        "area": [1.0, 2.5, np.nan, 4.0, 0.0],
        "flag": [True, False, True, False, True],
        "other": [False, False, True, True, True],
        "land_use": pd.Series(
            ["grassland", "arable", None, "maize", "grassland"], dtype="str"
        ),
        "count": [1, 2, 3, 4, 5],
        "code": pd.Series([265, 259, 265, 1926, 259], dtype="Int64"),
        "code_na": pd.Series([265, None, 265, 1926, 259], dtype="Int64"),
        "group": pd.Series(["a", "b", "a", "b", "c"], dtype="category"),
        "text_na": pd.Series(["a", None, "b", "a", "c"], dtype="string"),
        "rate_na": pd.Series([1.5, None, 2.0, 0.5, 3.0], dtype="Float64"),
    }
)
FORMULAS = [
    "area * flag",
    "area * (count <= 3)",
    "flag and not other",
    "flag or other",
    "not flag",
    "land_use == 'grassland'",
    "land_use != 'grassland'",
    "land_use in ['arable', 'maize']",
    "land_use not in ['arable']",
    "land_use == ['grassland', 'maize']",
    "area > 1 and land_use == 'maize'",
    "1 < count <= 4",
    "count % 2",
    "count / 0",
    "area ** 2 - -area",
    "code == 265",
    "code in [259, 1926]",
    "code_na == 265",
    "code_na * 2",
    "group == 'a'",
    "text_na == 'a'",
    "text_na != 'a'",
    "rate_na > 1",
    "rate_na * area",
    "flag + other",
    "flag * other",
    "land_use < 'b'",
    "not count",
    "2.5",
]


@pytest.mark.parametrize("formula", FORMULAS)
def test_formula_equals_dataframe_eval(formula: str) -> None:
    expected = TABLE.eval(formula, engine="python")
    if np.isscalar(expected):
        expected = pd.Series(expected, index=TABLE.index)
    expected = pd.Series(expected, index=TABLE.index).astype("float64")
    result = evaluate(formula, TABLE, "test")
    np.testing.assert_array_equal(result.to_numpy(), expected.to_numpy())


def test_formula_error_same_as_pandas() -> None:
    with pytest.raises(TypeError):
        TABLE.eval("flag - other", engine="python")
    with pytest.raises(TypeError):
        evaluate("flag - other", TABLE, "test")


def test_formula_unknown_column_named() -> None:
    with pytest.raises(ConfigError, match=r"unknown column\(s\) missing"):
        evaluate("area * missing", TABLE, "test")


def _cell_by_cell(
    parcel: shapely.Geometry, values: np.ma.MaskedArray, transform
) -> tuple[float, float]:
    """Area-weighted mean of the data cells under a parcel, and its data share."""
    weighted = covered = 0.0
    rows, cols = values.shape
    for row in range(rows):
        for col in range(cols):
            if values.mask[row, col]:
                continue
            west = transform.c + col * transform.a
            north = transform.f + row * transform.e
            cell = shapely.box(west, north + transform.e, west + transform.a, north)
            overlap = parcel.intersection(cell).area
            weighted += overlap * float(values[row, col])
            covered += overlap
    mean = weighted / covered if covered else np.nan
    return mean, covered / parcel.area


def test_zonal_with_nodata_cells(catalog: Catalog, tmp_path) -> None:
    # The real NH3 grid with every third cell set to nodata.
    source = catalog.path(catalog.layer(PILOT_NH3))
    with rasterio.open(source) as dataset:
        profile = dataset.profile | {"nodata": -9999.0, "dtype": "float64"}
        values = dataset.read(1).astype("float64")
    values.ravel()[::3] = -9999.0
    path = tmp_path / "nh3_with_gaps.tif"
    with rasterio.open(path, "w", **profile) as dataset:
        dataset.write(values, 1)

    entry = catalog.layer("nop_brp_parcels_2023")
    parcels = gpd.read_file(catalog.path(entry), layer=entry.layer)
    largest = parcels.loc[parcels.area.sort_values().index[-12:]]
    stats = zonal_statistics(largest, path, thresholds=(3.0,))
    with rasterio.open(path) as dataset:
        masked = dataset.read(1, masked=True)
        transform = dataset.transform
    for index, parcel in largest.geometry.items():
        mean, coverage = _cell_by_cell(parcel, masked, transform)
        assert stats.loc[index, "mean"] == pytest.approx(mean, rel=1e-6)
        assert stats.loc[index, "data_coverage"] == pytest.approx(coverage, rel=1e-6)
        assert 0.0 <= stats.loc[index, "share_above_3"] <= 1.0
    # The gaps must reach some of the parcels for the check to mean anything.
    assert ((stats["data_coverage"] > 0) & (stats["data_coverage"] < 1)).any()


def test_zonal_batches_equal_one_pass(catalog: Catalog, monkeypatch) -> None:
    entry = catalog.layer("nop_brp_parcels_2023")
    parcels = gpd.read_file(catalog.path(entry), layer=entry.layer)
    path = catalog.path(catalog.layer(PILOT_NH3))
    whole = zonal_statistics(parcels, path, thresholds=(3.0,))
    monkeypatch.setattr(spatial, "_ZONAL_BATCH", 250)
    batched = zonal_statistics(parcels, path, thresholds=(3.0,))
    assert len(parcels) > 250
    pd.testing.assert_frame_equal(batched, whole, check_exact=True)


@pytest.fixture(scope="module")
def engine(pilot_build, pilot_paths) -> ScenarioEngine:
    kpi_library = load_kpi_library()
    config = load_area_config(
        pilot_paths.configs, AREA, load_catalog(pilot_paths.layers), kpi_library
    )
    library = load_measure_library(AREA, pilot_paths.configs)
    return ScenarioEngine(
        pilot_build.parcels, library, config, kpi_library, pilot_build.nature
    )


def test_engine_equals_table_path(engine: ScenarioEngine) -> None:
    # Set crops, fixed and ranged effects, and a rule with a where formula.
    steps = [
        RuleStep(measure="low_emission_housing_feeding"),
        RuleStep(measure="herb_rich_grassland", where="area_ha > 0.5"),
        RuleStep(measure="arable_to_grassland", where="crop_group == 'potatoes'"),
        RuleStep(measure="agri_environment_mixture", where="area_ha < 0.2"),
    ]
    assignment = Scenario(name="paths", area_id=AREA, steps=steps).assignment(engine)
    kpis = engine.evaluate(assignment).kpis.set_index("kpi_id")
    tables = engine.apply(assignment)
    for variant in VARIANTS:
        expected = engine.kpi_values(tables[variant])
        for kpi_id, value in expected.items():
            if value is None:
                assert np.isnan(kpis.loc[kpi_id, variant]), (kpi_id, variant)
            else:
                assert kpis.loc[kpi_id, variant] == value, (kpi_id, variant)


def test_engine_apply_keeps_dtypes(engine: ScenarioEngine) -> None:
    assignment = engine.empty_assignment()
    assignment[engine.applicable("arable_to_grassland")] = "arable_to_grassland"
    table = engine.apply(assignment, ("mid",))["mid"]
    for column in ("crop_code", "land_use", "crop_group", "permanent_grassland"):
        assert table[column].dtype == engine.table[column].dtype, column
    changed = assignment == "arable_to_grassland"
    assert (table.loc[changed, "land_use"] == "grassland").all()
    assert (
        table.loc[~changed, "land_use"] == engine.table.loc[~changed, "land_use"]
    ).all()
