"""Imported farm data in the store: one import per file, values per farm and year.

An import never replaces earlier rows. For each farm, year and field, the
figure in force is the one of the newest import that gives a value, so a
file with only some columns corrects those columns. An empty cell does not
clear an earlier value.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import select

from geo_dashboard.farm_import import FARM_DATA_SCHEMA
from geo_dashboard.store._common import lock_area, require_author, require_text
from geo_dashboard.store.engine import Store
from geo_dashboard.store.errors import StoreInputError
from geo_dashboard.store.models import utc_now
from geo_dashboard.store.privacy_models import (
    FARM_ID_LENGTH,
    FarmDataImport,
    FarmDataValue,
)

logger = logging.getLogger(__name__)

# Columns of the figures, in the order of the file schema (``year`` is a key).
FARM_DATA_FIELDS = tuple(
    field.name for field in FARM_DATA_SCHEMA if field.name != "year"
)


@dataclass(frozen=True)
class FarmDataImportRecord:
    """An import of a farm data file: what was stored, by whom and when."""

    id: int
    area_id: str
    file_name: str
    sha256: str
    row_count: int
    value_count: int
    imported_by: str
    imported_at: datetime


def import_farm_data(
    store: Store,
    area_id: str,
    table: pd.DataFrame,
    *,
    file_name: str,
    sha256: str,
    by: str | None,
) -> FarmDataImportRecord:
    """Store a validated farm data table in one transaction.

    Parameters
    ----------
    store
        An open store.
    area_id
        Area the farms belong to; it must have a recorded build.
    table
        Output of :func:`geo_dashboard.farm_import.read_farm_data`: ``farm_id``,
        ``year`` and any of :data:`FARM_DATA_FIELDS`, NaN or None for empty cells.
    file_name, sha256
        Name and SHA-256 digest of the imported file, kept as its provenance.
    by
        Who imports the file.

    Raises
    ------
    StoreInputError
        If a column, farm id or year is missing or invalid; nothing is stored.
    StoreError
        If the area is not in the store.
    """
    author = require_author(by)
    name = require_text(file_name, "the file name", "pass the imported file")
    rows = _value_rows(table)

    with store.write() as session:
        lock_area(session, area_id)
        record = FarmDataImport(
            area_id=area_id,
            file_name=name,
            sha256=sha256,
            row_count=len(table),
            imported_by=author,
            imported_at=utc_now(),
        )
        session.add(record)
        session.flush()
        session.add_all(
            FarmDataValue(
                import_id=record.id,
                area_id=area_id,
                farm_id=farm_id,
                year=year,
                field=field,
                value=value,
            )
            for farm_id, year, field, value in rows
        )
    logger.info(
        "imported farm data into area %s: %d rows, %d values (import %d)",
        area_id,
        len(table),
        len(rows),
        record.id,
    )
    return FarmDataImportRecord(
        id=record.id,
        area_id=area_id,
        file_name=name,
        sha256=sha256,
        row_count=len(table),
        value_count=len(rows),
        imported_by=author,
        imported_at=record.imported_at,
    )


def _value_rows(table: pd.DataFrame) -> list[tuple[str, int, str, float]]:
    """Return (farm, year, field, value) for every filled cell, checking keys."""
    for column in ("farm_id", "year"):
        if column not in table.columns:
            raise StoreInputError(f"farm data table has no column {column!r}")
    unknown = sorted(set(table.columns) - {"farm_id", "year", *FARM_DATA_FIELDS})
    if unknown:
        raise StoreInputError(
            f"farm data table has unknown column(s) {', '.join(unknown)}; "
            f"valid: farm_id, year, {', '.join(FARM_DATA_FIELDS)}"
        )
    rows: list[tuple[str, int, str, float]] = []
    fields = [field for field in FARM_DATA_FIELDS if field in table.columns]
    for record in table.to_dict("records"):
        farm_id = str(record["farm_id"]).strip()
        if not farm_id or len(farm_id) > FARM_ID_LENGTH:
            raise StoreInputError(
                f"farm id {farm_id!r} is empty or longer than {FARM_ID_LENGTH} "
                "characters"
            )
        year = record["year"]
        if year is None or not math.isfinite(float(year)):
            raise StoreInputError(f"farm {farm_id!r} has no year")
        for field in fields:
            value = record[field]
            if value is None or pd.isna(value):
                continue
            if not math.isfinite(float(value)):
                raise StoreInputError(
                    f"farm {farm_id!r}, {field}: {value!r} is not a finite number"
                )
            rows.append((farm_id, int(year), field, float(value)))
    return rows


def farm_data(store: Store, area_id: str) -> pd.DataFrame:
    """Return the farm figures in force: one row per farm and year.

    Returns
    -------
    DataFrame
        Columns ``farm_id``, ``year`` and one column per field of
        :data:`FARM_DATA_FIELDS` (NaN where no import gave a value), sorted
        by farm and year. Empty when nothing was imported.
    """
    with store.read() as session:
        found = session.execute(
            select(
                FarmDataValue.import_id,
                FarmDataValue.farm_id,
                FarmDataValue.year,
                FarmDataValue.field,
                FarmDataValue.value,
            ).where(FarmDataValue.area_id == area_id)
        ).all()
    columns = ["farm_id", "year", *FARM_DATA_FIELDS]
    if not found:
        return pd.DataFrame(columns=columns)
    values = pd.DataFrame(
        found, columns=["import_id", "farm_id", "year", "field", "value"]
    )
    newest = values.groupby(["farm_id", "year", "field"])["import_id"].transform("max")
    current = values[values["import_id"] == newest]
    table = current.pivot_table(
        index=["farm_id", "year"],
        columns="field",
        values="value",
        aggfunc="first",
    ).reset_index()
    table.columns.name = None
    for field in FARM_DATA_FIELDS:
        if field not in table:
            table[field] = float("nan")
    table["year"] = table["year"].astype(int)
    return table[columns].sort_values(["farm_id", "year"]).reset_index(drop=True)


def list_farm_imports(store: Store, area_id: str) -> list[FarmDataImportRecord]:
    """Return the area's farm data imports, oldest first."""
    with store.read() as session:
        imports = session.scalars(
            select(FarmDataImport)
            .where(FarmDataImport.area_id == area_id)
            .order_by(FarmDataImport.id)
        ).all()
        counts = {record.id: len(record.values) for record in imports}
    return [
        FarmDataImportRecord(
            id=record.id,
            area_id=record.area_id,
            file_name=record.file_name,
            sha256=record.sha256,
            row_count=record.row_count,
            value_count=counts[record.id],
            imported_by=record.imported_by,
            imported_at=record.imported_at,
        )
        for record in imports
    ]
