"""Import of farm-level data (nutrient balance and emission figures) from CSV or Excel.

The schema is in :data:`FARM_DATA_SCHEMA` and documented in docs/farm_data.md.
A file is checked completely before anything is returned: any invalid cell
rejects the whole file, with a message per cell naming row and column.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from geo_dashboard.errors import LayerError

MAX_REPORTED_ERRORS = 20


@dataclass(frozen=True)
class FarmField:
    """One column of the farm data file: its unit and valid range."""

    name: str
    unit: str
    minimum: float
    maximum: float
    integer: bool = False
    required: bool = False


FARM_DATA_SCHEMA: tuple[FarmField, ...] = (
    FarmField("year", "year", 1990, 2100, integer=True, required=True),
    FarmField("n_soil_surplus_kg_ha", "kg N/ha", -500, 1000),
    FarmField("nh3_emission_kg_ha", "kg NH3/ha", 0, 500),
    FarmField("ghg_emission_t_co2e", "t CO2-eq/yr", 0, 100_000),
    FarmField("protein_own_land_pct", "%", 0, 100),
    FarmField("grazing_days", "days/yr", 0, 366, integer=True),
)
FIELDS_BY_NAME = {field.name: field for field in FARM_DATA_SCHEMA}


class FarmDataError(LayerError):
    """A farm data file is invalid; nothing of it was imported."""


_NL_NUMBER = re.compile(r"^-?\d{1,3}(\.\d{3})*(,\d+)?$|^-?\d+(,\d+)?$")
_EN_NUMBER = re.compile(r"^-?\d{1,3}(,\d{3})*(\.\d+)?$|^-?\d+(\.\d+)?$")


def parse_number(text: str, decimal: str) -> float:
    """Parse ``text`` with ``decimal`` ("," or ".") as decimal mark.

    Thousands separators (the other mark, or spaces) are accepted only in
    groups of three digits. Raises ValueError for anything else.
    """
    cleaned = text.strip().replace("\u00a0", "").replace(" ", "").removesuffix("%")
    pattern = _NL_NUMBER if decimal == "," else _EN_NUMBER
    if not pattern.match(cleaned):
        raise ValueError(text)
    if decimal == ",":
        cleaned = cleaned.replace(".", "").replace(",", ".")
    else:
        cleaned = cleaned.replace(",", "")
    return float(cleaned)


def read_farm_data(path: Path, known_farms: set[str] | None = None,
                   decimal: str | None = None) -> pd.DataFrame:
    """Read and validate a farm data file (``.csv``, ``.xlsx``).

    Parameters
    ----------
    path
        The file. CSV may use ``,`` or ``;`` as delimiter.
    known_farms
        Farm ids from the farm register; rows for other farms are rejected.
    decimal
        Decimal mark of the CSV: ``","`` or ``"."``. When None it is ``","``
        for semicolon-separated files and ``"."`` otherwise.

    Raises
    ------
    FarmDataError
        Listing each invalid cell as ``row N, column C: problem``.
    """
    path = Path(path)
    if not path.is_file():
        raise FarmDataError(f"farm data file {path} not found.")
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        raw = pd.read_excel(path, dtype=str).fillna("")
        decimal = decimal or "."
    elif path.suffix.lower() == ".csv":
        raw, delimiter = _read_csv(path)
        decimal = decimal or ("," if delimiter == ";" else ".")
    else:
        raise FarmDataError(
            f"farm data file {path}: unsupported type {path.suffix!r}; use .csv or .xlsx."
        )
    raw.columns = [str(column).strip() for column in raw.columns]
    return _validate(raw, path, known_farms, decimal)


def _read_csv(path: Path) -> tuple[pd.DataFrame, str]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise FarmDataError(
            f"farm data file {path} is not UTF-8 (byte {err.start}); save it as UTF-8 CSV."
        ) from err
    try:
        delimiter = csv.Sniffer().sniff(text.splitlines()[0], delimiters=",;\t").delimiter
    except (csv.Error, IndexError) as err:
        raise FarmDataError(f"farm data file {path}: cannot find the column delimiter.") from err
    table = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False)
    return table, delimiter


def _validate(raw: pd.DataFrame, path: Path, known_farms: set[str] | None,
              decimal: str) -> pd.DataFrame:
    errors: list[str] = []
    if "farm_id" not in raw.columns:
        raise FarmDataError(f"farm data file {path}: column 'farm_id' is missing.")
    unknown = [c for c in raw.columns if c != "farm_id" and c not in FIELDS_BY_NAME]
    if unknown:
        raise FarmDataError(
            f"farm data file {path}: unknown column(s) {', '.join(unknown)}; valid columns: "
            f"farm_id, {', '.join(FIELDS_BY_NAME)}. See docs/farm_data.md."
        )
    for field in FARM_DATA_SCHEMA:
        if field.required and field.name not in raw.columns:
            errors.append(f"column {field.name!r} is missing")

    result = pd.DataFrame(index=raw.index)
    result["farm_id"] = raw["farm_id"].astype(str).str.strip()
    for row, farm_id in result["farm_id"].items():
        if not farm_id:
            errors.append(f"row {row + 2}, column 'farm_id': empty")
        elif known_farms is not None and farm_id not in known_farms:
            errors.append(f"row {row + 2}, column 'farm_id': farm {farm_id!r} is not in the farm register")
    for name in raw.columns:
        if name == "farm_id":
            continue
        field = FIELDS_BY_NAME[name]
        result[name] = [
            _cell(text, row, field, decimal, errors) for row, text in raw[name].items()
        ]
    duplicated = result.duplicated(subset=["farm_id", "year"]) if "year" in result else []
    for row in result.index[duplicated]:
        errors.append(f"row {row + 2}: farm {result.at[row, 'farm_id']!r} and year are listed twice")
    if errors:
        shown = errors[:MAX_REPORTED_ERRORS]
        more = f"\n  ... and {len(errors) - len(shown)} more" if len(errors) > len(shown) else ""
        raise FarmDataError(
            f"farm data file {path} is invalid; nothing was imported:\n  "
            + "\n  ".join(shown) + more
        )
    return result


def _cell(text: object, row: int, field: FarmField, decimal: str, errors: list[str]) -> float | None:
    value = str(text).strip()
    where = f"row {row + 2}, column {field.name!r}"
    if value == "":
        if field.required:
            errors.append(f"{where}: empty")
        return None
    try:
        number = parse_number(value, decimal)
    except ValueError:
        mark = "decimal comma" if decimal == "," else "decimal point"
        errors.append(f"{where}: {value!r} is not a number (expected a {mark})")
        return None
    if field.integer and not number.is_integer():
        errors.append(f"{where}: {value!r} is not a whole number")
        return None
    if not field.minimum <= number <= field.maximum:
        errors.append(
            f"{where}: {value!r} is outside {field.minimum:g}..{field.maximum:g} {field.unit}"
        )
        return None
    return number
