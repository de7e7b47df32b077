"""The layer catalogue: each entry matches its real file."""

from __future__ import annotations

import pyogrio
import pytest
import rasterio
from pyproj import CRS

from geo_dashboard.catalog import Catalog, LayerEntry, load_catalog
from geo_dashboard.errors import ConfigError, UnknownIdError
from tests.conftest import REPO

CATALOG = load_catalog(REPO / "layers")


@pytest.mark.parametrize("entry", CATALOG.layers, ids=CATALOG.layer_ids)
def test_entry_matches_file(entry: LayerEntry, catalog: Catalog) -> None:
    path = catalog.path(entry)
    assert path.is_file()
    if entry.kind == "raster":
        with rasterio.open(path) as dataset:
            assert CRS.from_user_input(dataset.crs.to_wkt()).equals(CRS.from_user_input(entry.crs))
        return
    assert entry.layer in pyogrio.list_layers(path)[:, 0]
    info = pyogrio.read_info(path, layer=entry.layer)
    assert CRS.from_user_input(info["crs"]).equals(CRS.from_user_input(entry.crs))
    assert set(entry.fields) <= set(info["fields"])
    assert info["features"] > 0


@pytest.mark.parametrize("entry", CATALOG.tables, ids=[t.id for t in CATALOG.tables])
def test_table_file_exists(entry, catalog: Catalog) -> None:
    assert catalog.path(entry).is_file()


def test_every_layer_file_is_catalogued(catalog: Catalog) -> None:
    listed = {entry.file for entry in [*catalog.layers, *catalog.tables]}
    on_disk = {
        str(path.relative_to(catalog.root))
        for path in catalog.root.rglob("*")
        if path.suffix in {".gpkg", ".tif", ".csv"}
    }
    assert on_disk == listed


def test_every_entry_has_provenance(catalog: Catalog) -> None:
    for entry in [*catalog.layers, *catalog.tables]:
        assert entry.publisher and entry.source and entry.licence and entry.quality


def test_unknown_layer_lists_ids(catalog: Catalog) -> None:
    with pytest.raises(UnknownIdError, match=r"layer 'nope' is not in .*Known layers: .*nop_natura2000"):
        catalog.layer("nope")


def test_duplicate_id_rejected(tmp_path) -> None:
    duplicate = (
        "layers:\n  - id: nop_natura2000\n    file: x.gpkg\n    kind: vector\n"
        "    crs: EPSG:28992\n    publisher: p\n    source: s\n    licence: l\n"
        "    year: 2020\n    processing: none\n    quality: q\n"
    )
    text = (REPO / "layers" / "catalog.yaml").read_text(encoding="utf-8")
    (tmp_path / "catalog.yaml").write_text(text.replace("layers:\n", duplicate, 1), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"layer id 'nop_natura2000' is listed twice"):
        load_catalog(tmp_path)


def test_absolute_file_path_rejected(tmp_path) -> None:
    (tmp_path / "catalog.yaml").write_text(
        "layers:\n  - id: bad\n    file: /etc/passwd\n    kind: vector\n    crs: EPSG:28992\n"
        "    publisher: p\n    source: s\n    licence: l\n    year: 2020\n"
        "    processing: none\n    quality: q\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"layers\.0\.file: .*must be a path relative to the layers folder"):
        load_catalog(tmp_path)
