"""Area configs: every shipped config is valid; bad ones fail with the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from geo_dashboard.catalog import Catalog
from geo_dashboard.config import list_areas, load_area_config
from geo_dashboard.errors import ConfigError, UnknownIdError
from geo_dashboard.kpis import load_kpi_library
from geo_dashboard.paths import ProjectPaths

REPO_CONFIGS = Path(__file__).resolve().parents[1] / "area_configs"


@pytest.mark.parametrize("area_id", list_areas(REPO_CONFIGS))
def test_shipped_config_is_valid(area_id: str, catalog: Catalog) -> None:
    config = load_area_config(REPO_CONFIGS, area_id, catalog, load_kpi_library())
    assert config.id == area_id
    assert config.kpis


def test_pilot_covers_all_five_themes(catalog: Catalog) -> None:
    library = load_kpi_library()
    config = load_area_config(REPO_CONFIGS, "noordoostpolder", catalog, library)
    themes = {library.get(kpi.id).theme for kpi in config.kpis}
    assert {"nature", "climate", "water", "biodiversity", "agriculture"} <= themes
    assert len(config.kpis) >= 8


def _edit_pilot(paths: ProjectPaths, edit) -> None:
    path = paths.configs / "noordoostpolder.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def _load(paths: ProjectPaths, catalog: Catalog, area: str = "noordoostpolder"):
    return load_area_config(paths.configs, area, catalog, load_kpi_library())


def test_yaml_syntax_error_names_line(sandbox: ProjectPaths, catalog: Catalog) -> None:
    path = sandbox.configs / "noordoostpolder.yaml"
    path.write_text("id: noordoostpolder\nname: {nl: a, en: b\nprovince: x\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"noordoostpolder\.yaml is not valid YAML at line \d+"):
        _load(sandbox, catalog)


def test_unknown_key_names_key_path(sandbox: ProjectPaths, catalog: Catalog) -> None:
    _edit_pilot(sandbox, lambda d: d["kpis"][0].update(targt={"value": 1}))
    with pytest.raises(ConfigError, match=r"kpis\.0\.targt: unknown key; remove it"):
        _load(sandbox, catalog)


def test_missing_key_names_key_path(sandbox: ProjectPaths, catalog: Catalog) -> None:
    _edit_pilot(sandbox, lambda d: d["kpis"][1]["target"].pop("source"))
    with pytest.raises(ConfigError, match=r"kpis\.1\.target\.source: required key is missing"):
        _load(sandbox, catalog)


def test_unknown_kpi_lists_known(sandbox: ProjectPaths, catalog: Catalog) -> None:
    _edit_pilot(sandbox, lambda d: d["kpis"][2].update(id="no_such_kpi"))
    with pytest.raises(UnknownIdError, match=r"kpis\.2\.id: KPI 'no_such_kpi' is not defined\. Known KPIs: .*permanent_grassland_share"):
        _load(sandbox, catalog)


def test_unknown_layer_lists_known(sandbox: ProjectPaths, catalog: Catalog) -> None:
    _edit_pilot(sandbox, lambda d: d["layers"].update(natura2000="nop_natura"))
    with pytest.raises(UnknownIdError, match=r"layers\.natura2000: layer 'nop_natura' is not in the catalogue\. Known layers: .*nop_natura2000"):
        _load(sandbox, catalog)


def test_unknown_role_lists_valid_roles(sandbox: ProjectPaths, catalog: Catalog) -> None:
    _edit_pilot(sandbox, lambda d: d["layers"].update(wetlands="nop_natura2000"))
    with pytest.raises(ConfigError, match=r"unknown layer role\(s\) wetlands; valid roles: parcels"):
        _load(sandbox, catalog)


def test_raster_in_vector_role_rejected(sandbox: ProjectPaths, catalog: Catalog) -> None:
    _edit_pilot(sandbox, lambda d: d["layers"].update(natura2000="nop_nh3_2023"))
    with pytest.raises(ConfigError, match=r"layers\.natura2000: layer 'nop_nh3_2023' is a raster layer but role 'natura2000' needs a vector layer"):
        _load(sandbox, catalog)


def test_target_year_before_baseline(sandbox: ProjectPaths, catalog: Catalog) -> None:
    _edit_pilot(sandbox, lambda d: d["kpis"][0]["target"].update(year=2020))
    with pytest.raises(ConfigError, match=r"kpis\.0: .*target year 2020 is not after baseline year 2023"):
        _load(sandbox, catalog)


def test_wrong_value_type(sandbox: ProjectPaths, catalog: Catalog) -> None:
    _edit_pilot(sandbox, lambda d: d["kpis"][0]["baseline"].update(value="veel"))
    with pytest.raises(ConfigError, match=r"kpis\.0\.baseline\.value: Input should be a valid number"):
        _load(sandbox, catalog)


def test_unknown_basis_lists_choices(sandbox: ProjectPaths, catalog: Catalog) -> None:
    _edit_pilot(sandbox, lambda d: d["kpis"][0]["target"].update(basis="guess"))
    with pytest.raises(ConfigError, match=r"kpis\.0\.target\.basis: Input should be 'policy', 'literature', 'measured' or 'provisional'"):
        _load(sandbox, catalog)


def test_id_must_match_file_name(sandbox: ProjectPaths, catalog: Catalog) -> None:
    _edit_pilot(sandbox, lambda d: d.update(id="elsewhere"))
    with pytest.raises(ConfigError, match=r"id is 'elsewhere' but the file is named 'noordoostpolder'\.yaml"):
        _load(sandbox, catalog)


def test_missing_config_lists_areas(sandbox: ProjectPaths, catalog: Catalog) -> None:
    with pytest.raises(UnknownIdError, match=r"nowhere\.yaml not found\. Known areas: .*noordoostpolder"):
        _load(sandbox, catalog, "nowhere")


@pytest.mark.parametrize("area_id", ["../etc/passwd", "Noord Oost", "a/b", "zuidhollandse_vénen", ""])
def test_area_id_with_path_characters(area_id: str, sandbox: ProjectPaths, catalog: Catalog) -> None:
    with pytest.raises(ConfigError, match=r"area id .* is invalid: use lower-case letters"):
        _load(sandbox, catalog, area_id)


def test_empty_config_file(sandbox: ProjectPaths, catalog: Catalog) -> None:
    (sandbox.configs / "noordoostpolder.yaml").write_text("", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"noordoostpolder\.yaml is empty"):
        _load(sandbox, catalog)


def test_non_utf8_config(sandbox: ProjectPaths, catalog: Catalog) -> None:
    path = sandbox.configs / "noordoostpolder.yaml"
    path.write_bytes(path.read_bytes().replace(b"Marknesse", "Märknesse".encode("latin-1")))
    with pytest.raises(ConfigError, match=r"is not valid UTF-8"):
        _load(sandbox, catalog)


def test_unsafe_where_formula_rejected(sandbox: ProjectPaths, catalog: Catalog) -> None:
    _edit_pilot(
        sandbox,
        lambda d: d["layers"].update(
            natura2000={"layer": "nop_natura2000", "where": "__import__('os').getcwd()"}
        ),
    )
    with pytest.raises(ConfigError, match=r"uses (Call|Attribute), which is not allowed"):
        _load(sandbox, catalog)
