"""The layer catalogue: every real layer the project ships, with its provenance."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from geo_dashboard._yaml import load_model
from geo_dashboard.errors import ConfigError, UnknownIdError

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


# Key order of a layer entry written to catalog.yaml, as in the hand-written entries.
_ENTRY_KEYS = (
    "id",
    "file",
    "layer",
    "kind",
    "crs",
    "unit",
    "encoding",
    "publisher",
    "source",
    "licence",
    "year",
    "processing",
    "quality",
    "fields",
)


def render_layer_entry(entry: LayerEntry) -> str:
    """Return ``entry`` as a YAML list item indented for the ``layers:`` list."""
    data = entry.model_dump()
    ordered = {
        key: data[key] for key in _ENTRY_KEYS if data[key] is not None or key == "unit"
    }
    if not ordered["fields"]:
        del ordered["fields"]
    text = yaml.safe_dump(
        [ordered], sort_keys=False, allow_unicode=True, width=100, indent=2
    )
    return "".join(f"  {line}\n" for line in text.splitlines())


def catalog_text_with_layer(text: str, entry: LayerEntry, replace: bool = False) -> str:
    """Return catalogue text with ``entry`` added at the end of the ``layers:`` list.

    Comments and the layout of the other entries are kept, because the text
    is edited rather than written again from the model. With ``replace`` an
    entry of the same id is removed first. The result is parsed and compared
    with the intended catalogue before it is returned.

    Raises
    ------
    ConfigError
        If the id is already listed (without ``replace``), or if the edited
        text does not parse to the old entries plus ``entry``.
    """
    before = Catalog.model_validate(yaml.safe_load(text))
    lines = text.splitlines(keepends=True)
    if entry.id in before.layer_ids + [table.id for table in before.tables]:
        if not replace:
            raise ConfigError(
                f"layer id {entry.id!r} is already in the catalogue; choose another id."
            )
        lines = _without_entry(lines, entry.id)
    lines = _with_entry(lines, render_layer_entry(entry))
    result = "".join(lines)

    after = Catalog.model_validate(yaml.safe_load(result))
    expected_ids = [i for i in before.layer_ids if i != entry.id] + [entry.id]
    added = after.layer(entry.id) if entry.id in after.layer_ids else None
    if (
        after.layer_ids != expected_ids
        or added is None
        or added.model_dump() != entry.model_dump()
        or after.tables != before.tables
    ):
        raise ConfigError(
            f"could not add layer {entry.id!r} to the catalogue text automatically "
            "(unusual layout of catalog.yaml). Add this entry under 'layers:' by "
            f"hand:\n{render_layer_entry(entry)}"
        )
    return result


def _with_entry(lines: list[str], block: str) -> list[str]:
    """Insert ``block`` after the last entry of the top-level ``layers:`` list."""
    end = next(
        (i for i, line in enumerate(lines) if line.startswith("tables:")), len(lines)
    )
    while end > 0 and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
        end -= 1
    head = lines[:end]
    if head and not head[-1].endswith("\n"):
        head[-1] += "\n"
    return head + ["\n", block] + lines[end:]


def _without_entry(lines: list[str], layer_id: str) -> list[str]:
    """Remove the list item ``- id: layer_id`` (two-space indent) and its lines."""
    start = next(
        (
            i
            for i, line in enumerate(lines)
            if line.rstrip() in (f"  - id: {layer_id}", f"  - id: '{layer_id}'")
        ),
        None,
    )
    if start is None:
        return lines
    end = start + 1
    while end < len(lines) and not (
        lines[end].startswith("  - ")
        or lines[end].startswith("  #")
        or (lines[end].strip() and not lines[end].startswith(" "))
    ):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    # Drop the blank line that separated the removed entry from the one before it.
    if start > 0 and not lines[start - 1].strip():
        start -= 1
    return lines[:start] + lines[end:]


def write_catalog_text(layers_dir: Path, text: str) -> None:
    """Replace ``catalog.yaml`` in ``layers_dir`` with ``text`` atomically."""
    from geo_dashboard.staged_writes import StagedWrites

    writes = StagedWrites()
    writes.write_text(Path(layers_dir) / CATALOG_FILE, text)
    writes.commit()
