"""The layer catalogue: every real layer the project ships, with its provenance."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from geo_dashboard._yaml import load_model
from geo_dashboard.errors import UnknownIdError

CATALOG_FILE = "catalog.yaml"


class _Provenance(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    file: str
    unit: str | None = None
    publisher: str
    source: str
    licence: str
    year: int = Field(ge=1900, le=2100)
    processing: str
    quality: str

    @field_validator("file")
    @classmethod
    def _relative_file(cls, value: str) -> str:
        if Path(value).is_absolute() or ".." in Path(value).parts:
            raise ValueError(
                f"file {value!r} must be a path relative to the layers folder"
            )
        return value


class LayerEntry(_Provenance):
    """One spatial layer: file, kind, CRS and provenance."""

    layer: str | None = None
    kind: Literal["vector", "raster"]
    crs: str
    encoding: str | None = None
    fields: dict[str, str] = Field(default_factory=dict)


class TableEntry(_Provenance):
    """One non-spatial table shipped with the layers."""


class Catalog(BaseModel):
    """All layers and tables in a layers folder."""

    model_config = ConfigDict(extra="forbid")

    layers: list[LayerEntry]
    tables: list[TableEntry] = Field(default_factory=list)
    root: Path = Path(".")

    @model_validator(mode="after")
    def _unique_ids(self) -> Catalog:
        seen: set[str] = set()
        for entry in [*self.layers, *self.tables]:
            if entry.id in seen:
                raise ValueError(f"layer id {entry.id!r} is listed twice")
            seen.add(entry.id)
        return self

    @property
    def layer_ids(self) -> list[str]:
        return [entry.id for entry in self.layers]

    def layer(self, layer_id: str) -> LayerEntry:
        """Return the entry of ``layer_id`` or raise with the valid ids."""
        for entry in self.layers:
            if entry.id == layer_id:
                return entry
        raise UnknownIdError(
            f"layer {layer_id!r} is not in {self.root / CATALOG_FILE}. "
            f"Known layers: {', '.join(sorted(self.layer_ids))}. "
            "Add the layer with its provenance to the catalogue or fix the id."
        )

    def path(self, entry: LayerEntry | TableEntry) -> Path:
        return self.root / entry.file


def load_catalog(layers_dir: Path) -> Catalog:
    """Read and validate ``catalog.yaml`` in ``layers_dir``."""
    path = Path(layers_dir) / CATALOG_FILE
    catalog = load_model(Catalog, path, "layer catalogue")
    catalog.root = Path(layers_dir)
    return catalog


def file_digest(path: Path) -> str:
    """Return the SHA-256 of a file: the data version recorded in a build."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
