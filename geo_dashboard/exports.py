"""Exports of a build: GeoPackage, CSV, Excel, a map image and a one-page PDF.

Each writer writes to a temporary file next to the target and renames it,
so a failed export never leaves a half-written file under the target name.

Every export goes through :func:`geo_dashboard.privacy.disclose`.
:func:`export_for_viewer` writes what one viewer may see, including farm
sheets in Excel for the farms that viewer may see and the area aggregates of
farm data. :func:`export` writes the public view: area data only, without
farm identity.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Literal

import matplotlib

matplotlib.use("Agg")  # headless rendering: exports run on servers and in CI

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from geo_dashboard.config import PrivacyRules  # noqa: E402
from geo_dashboard.i18n import (  # noqa: E402
    format_number,
    has_message,
    translate,
    translate_unit,
    translate_value,
)
from geo_dashboard.kpis import KpiLibrary, load_kpi_library, row_values  # noqa: E402
from geo_dashboard.output import BuildOutput  # noqa: E402
from geo_dashboard.privacy import (  # noqa: E402
    NO_CONSENTS,
    PUBLIC,
    Consents,
    Disclosure,
    Viewer,
    disclose,
)

logger = logging.getLogger(__name__)

Language = Literal["nl", "en"]
EXPORT_FORMATS = ("gpkg", "csv", "xlsx", "png", "pdf")

# Field names in the GeoPackage: short, ASCII and readable in QGIS.
GPKG_FIELDS = {
    "parcel_id": "perceel_id",
    "farm_id": "bedrijf_id",
    "area_ha": "opp_ha",
    "crop_code": "gewascode",
    "crop_name": "gewas",
    "land_use": "grondgebr",
    "crop_group": "gewasgroep",
    "permanent_grassland": "blijv_gras",
    "agri_environment": "natuurmeng",
    "nitrate_risk_high": "nitr_risico",
    "n2000_share": "n2000_aand",
    "n2000_distance_m": "n2000_afst_m",
    "nnn_share": "nnn_aand",
    "peat_share": "veen_aand",
    "water_length_m": "water_m",
    "peat_emission_rate": "veen_kgha",
    "peat_emission_t": "veen_t",
    "nh3_mean": "nh3_ugm3",
    "n_deposition_mean": "ndep_molha",
}

_TABLE_HEADERS = {
    "nl": ["Thema", "KPI", "Waarde", "Eenheid", "Basis", "Doel", "Status"],
    "en": ["Theme", "KPI", "Value", "Unit", "Baseline", "Target", "Status"],
}


@contextmanager
def _atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it on success."""
    target = Path(target)
    if target.is_dir() or not target.name:
        raise ValueError(
            f"export target {str(target)!r} is a folder; give a file name, "
            f"e.g. {target / 'kpis.csv'}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.stem}-", suffix=target.suffix
    )
    os.close(handle)
    temporary = Path(name)
    temporary.unlink()  # writers such as GDAL want to create the file themselves
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        if temporary.exists():
            temporary.unlink()


def export_parcels_gpkg(output: BuildOutput, target: Path) -> Path:
    """Write the per-parcel KPI layer as a GeoPackage in EPSG:28992."""
    parcels = output.parcels.rename(columns=GPKG_FIELDS)
    for column in parcels.columns:
        if parcels[column].dtype == bool:
            parcels[column] = parcels[column].astype("int8")
    with _atomic_path(target) as temporary:
        parcels.to_file(temporary, layer=f"percelen_{output.area_id}", driver="GPKG")
    logger.info("wrote %d parcels to %s", len(parcels), target)
    return Path(target)


def kpi_table(output: BuildOutput, language: Language = "nl") -> pd.DataFrame:
    """Return the area KPI table with names in ``language`` and sources."""
    kpis = output.kpis
    table = pd.DataFrame(
        {
            "kpi_id": kpis["kpi_id"],
            "theme": kpis["theme"],
            "name": kpis["name_en"] if language == "en" else kpis["name_nl"],
            "value": kpis["value"],
            "unit": kpis["unit"],
            "status": kpis["status"],
            "missing_layers": kpis["missing_layers"],
            "baseline_value": kpis["baseline_value"],
            "baseline_year": kpis["baseline_year"],
            "target_value": kpis["target_value"],
            "target_year": kpis["target_year"],
            "target_basis": kpis["target_basis"],
            "target_source": kpis["target_source"],
            "source": kpis["source"],
        }
    )
    return table


def export_kpis_csv(
    output: BuildOutput, target: Path, language: Language = "nl"
) -> Path:
    """Write the KPI table as CSV (UTF-8 with BOM, so Excel reads µ and ³)."""
    table = kpi_table(output, language)
    with _atomic_path(target) as temporary:
        table.to_csv(temporary, index=False, encoding="utf-8-sig")
    return Path(target)


def export_kpis_excel(
    output: BuildOutput,
    target: Path,
    language: Language = "nl",
    farm_sheets: dict[str, pd.DataFrame] | None = None,
) -> Path:
    """Write the KPI table and the data sources as two sheets of an Excel file.

    ``farm_sheets`` (sheet name to table) are added after them; pass only
    tables from a :class:`~geo_dashboard.privacy.Disclosure`.
    """
    with _atomic_path(target) as temporary:
        with pd.ExcelWriter(temporary, engine="openpyxl") as writer:
            kpi_table(output, language).to_excel(writer, sheet_name="KPIs", index=False)
            sources_table(output).to_excel(writer, sheet_name="bronnen", index=False)
            for name, table in (farm_sheets or {}).items():
                table.to_excel(writer, sheet_name=name, index=False)
    return Path(target)


def farm_sheets(disclosure: Disclosure) -> dict[str, pd.DataFrame]:
    """Return the farm tables of a disclosure as Excel sheets.

    The aggregates sheet is written whenever the build has farms. The farm
    KPI and farm data sheets are written only when the viewer may see at
    least one farm. A suppressed aggregate keeps its row, with the reason and
    no value.
    """
    sheets: dict[str, pd.DataFrame] = {}
    if not disclosure.aggregates.empty:
        sheets["bedrijfsaggregaten"] = disclosure.aggregates
    farm_kpis = disclosure.build.farm_kpis
    if disclosure.visible_farms and farm_kpis is not None:
        sheets["bedrijven"] = farm_kpis
        sheets["bedrijfsgegevens"] = disclosure.farm_data
    return sheets


def sources_table(output: BuildOutput) -> pd.DataFrame:
    """Return the layers used by the build with publisher, year and licence."""
    layers = output.manifest.get("layers", [])
    return pd.DataFrame(
        layers, columns=["id", "publisher", "year", "licence", "file", "sha256"]
    )


def draw_map(
    figure: Figure,
    axes,
    output: BuildOutput,
    kpi_id: str,
    language: Language,
    library: KpiLibrary,
) -> None:
    """Draw a parcel choropleth of ``kpi_id`` with Natura 2000 and the boundary."""
    kpi = library.get(kpi_id)
    parcels = output.parcels
    values = (
        row_values(kpi, parcels)
        if not parcels.empty and kpi.columns <= set(parcels)
        else None
    )
    unit = kpi.map_unit or kpi.unit
    output.boundary.boundary.plot(ax=axes, color="black", linewidth=1.2)
    if values is not None:
        frame = parcels.assign(value=values.to_numpy())
        frame.plot(
            ax=axes,
            column="value",
            cmap="viridis",
            legend=True,
            linewidth=0,
            missing_kwds={
                "color": "lightgrey",
                "label": "geen gegevens" if language == "nl" else "no data",
            },
            legend_kwds={
                "label": f"{_map_label(kpi, language)} ({unit})",
                "shrink": 0.6,
            },
        )
    elif kpi.category and kpi.category in parcels:
        labels = parcels[kpi.category].map(
            lambda value: translate_value(kpi.category, value, language)
        )
        parcels.assign(label=labels).plot(
            ax=axes,
            column="label",
            cmap="tab20",
            legend=True,
            linewidth=0,
            legend_kwds={
                "fontsize": 6,
                "loc": "upper left",
                "bbox_to_anchor": (1.0, 1.0),
            },
        )
    else:
        axes.text(
            0.5,
            0.5,
            _gap_text(kpi.name.get(language), language),
            transform=axes.transAxes,
            ha="center",
            va="center",
        )
    if not output.nature.empty:
        output.nature.boundary.plot(ax=axes, color="#1b7837", linewidth=0.8)
    xmin, ymin, xmax, ymax = output.boundary.total_bounds
    margin = 0.05 * max(xmax - xmin, ymax - ymin)
    axes.set_xlim(xmin - margin, xmax + margin)
    axes.set_ylim(ymin - margin, ymax + margin)
    axes.set_aspect("equal")
    axes.set_axis_off()
    axes.set_title(kpi.name.get(language), fontsize=10)


def _map_label(kpi, language: Language) -> str:
    # A KPI mapped through one column is labelled after that column, in its unit.
    key = f"map.column.{kpi.map_column}"
    return (
        translate(key, language)
        if kpi.map_column and has_message(key)
        else kpi.name.get(language)
    )


def _gap_text(name: str, language: Language) -> str:
    return (
        f"{name}: geen gegevens (datagat)"
        if language == "nl"
        else f"{name}: no data (data gap)"
    )


def export_map_png(
    output: BuildOutput,
    target: Path,
    kpi_id: str,
    language: Language = "nl",
    dpi: int = 150,
) -> Path:
    """Render the map of ``kpi_id`` as a PNG image."""
    library = load_kpi_library()
    figure, axes = plt.subplots(figsize=(7, 7))
    try:
        draw_map(figure, axes, output, kpi_id, language, library)
        with _atomic_path(target) as temporary:
            figure.savefig(temporary, format="png", dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(figure)
    return Path(target)


def export_pdf(
    output: BuildOutput, target: Path, kpi_id: str, language: Language = "nl"
) -> Path:
    """Write a one-page A4 PDF: map with legend, KPI table, date, sources, licences."""
    library = load_kpi_library()
    figure = plt.figure(figsize=(8.27, 11.69))
    try:
        name = output.manifest.get("area_name", {}).get(language, output.area_id)
        figure.suptitle(name, fontsize=13, y=0.98)
        map_axes = figure.add_axes((0.05, 0.50, 0.90, 0.44))
        draw_map(figure, map_axes, output, kpi_id, language, library)
        _draw_kpi_table(figure.add_axes((0.04, 0.14, 0.92, 0.34)), output, language)
        figure.text(
            0.04, 0.03, _footer(output, language), fontsize=6.5, va="bottom", wrap=True
        )
        with _atomic_path(target) as temporary:
            with PdfPages(temporary) as pdf:
                pdf.savefig(figure)
    finally:
        plt.close(figure)
    return Path(target)


def _draw_kpi_table(axes, output: BuildOutput, language: Language) -> None:
    axes.set_axis_off()
    rows = []
    for row in output.kpis.itertuples(index=False):
        name = row.name_en if language == "en" else row.name_nl
        rows.append(
            [
                translate_value("theme", row.theme, language),
                name[:48],
                _cell(None if row.status == "gap" else row.value, language),
                translate_unit(row.unit, language),
                _cell(row.baseline_value, language),
                f"{_cell(row.target_value, language)} ({row.target_year})",
                translate_value("status", row.status, language),
            ]
        )
    table = axes.table(
        cellText=rows,
        colLabels=_TABLE_HEADERS[language],
        loc="upper center",
        colWidths=[0.11, 0.38, 0.09, 0.1, 0.09, 0.13, 0.1],
    )
    table.auto_set_font_size(False)
    table.set_fontsize(6.5)
    table.scale(1, 1.25)


def _cell(value: object, language: Language) -> str:
    # A dash keeps gaps short in the narrow table cells; it is never a 0.
    return "—" if value is None or pd.isna(value) else format_number(value, language)


def _footer(output: BuildOutput, language: Language) -> str:
    today = date.today().isoformat()
    sources = "; ".join(
        f"{layer['publisher']} ({layer['year']}, {layer['licence']})"
        for layer in output.manifest.get("layers", [])
    )
    built_at = output.manifest.get("built_at", "")
    if language == "en":
        return f"Date: {today}. Build: {built_at}. Sources: {sources}."
    return f"Datum: {today}. Build: {built_at}. Bronnen: {sources}."


WRITERS: dict[str, Callable[..., Path]] = {
    "gpkg": lambda output, target, kpi_id, language: export_parcels_gpkg(
        output, target
    ),
    "csv": lambda output, target, kpi_id, language: export_kpis_csv(
        output, target, language
    ),
    "xlsx": lambda output, target, kpi_id, language: export_kpis_excel(
        output, target, language
    ),
    "png": lambda output, target, kpi_id, language: export_map_png(
        output, target, kpi_id, language
    ),
    "pdf": lambda output, target, kpi_id, language: export_pdf(
        output, target, kpi_id, language
    ),
}


def export(
    output: BuildOutput,
    fmt: str,
    target: Path,
    kpi_id: str | None = None,
    language: Language = "nl",
) -> Path:
    """Write the public view of ``output`` in format ``fmt`` to ``target``.

    The public view has no farm identity and no farm sheets; use
    :func:`export_for_viewer` for a logged-in viewer. ``fmt`` is one of
    :data:`EXPORT_FORMATS` and ``target`` must end in ``.<fmt>`` (see
    :func:`check_target`).
    """
    disclosure = disclose(PUBLIC, output, NO_CONSENTS, contributions_for=())
    return export_disclosed(disclosure, fmt, target, kpi_id, language, with_farms=False)


def export_for_viewer(
    output: BuildOutput,
    viewer: Viewer,
    consents: Consents,
    fmt: str,
    target: Path,
    kpi_id: str | None = None,
    language: Language = "nl",
    *,
    rules: PrivacyRules | None = None,
    farm_data: pd.DataFrame | None = None,
) -> Path:
    """Write what ``viewer`` may see of ``output`` in format ``fmt`` to ``target``.

    Parameters
    ----------
    output
        The build as read from disk.
    viewer
        Role and farms of the person who receives the file.
    consents
        Consents in force per farm, from the store.
    fmt
        One of :data:`EXPORT_FORMATS`.
    target
        File to write.
    kpi_id
        KPI on the map (png, pdf); the first KPI of the build when None.
    language
        ``"nl"`` or ``"en"``.
    rules
        The area's suppression rules; the defaults when None.
    farm_data
        Imported farm figures in force; their visible rows go to the Excel file.

    Raises
    ------
    ValueError
        If ``fmt`` is not supported or ``target`` does not end in ``.<fmt>``.
    """
    disclosure = disclose(
        viewer, output, consents, rules=rules, farm_data=farm_data, contributions_for=()
    )
    return export_disclosed(disclosure, fmt, target, kpi_id, language)


def check_target(fmt: str, target: Path) -> None:
    """Check that ``fmt`` is supported and that ``target`` ends in ``.<fmt>``.

    A file named ``x.csv`` that contains a PDF opens in the wrong program, so a
    suffix that does not match the format is rejected before anything is
    written. The suffix is compared without regard to case.

    Raises
    ------
    ValueError
        If the format is not supported, or the target has another suffix or none.
    """
    if fmt not in WRITERS:
        raise ValueError(
            f"export format {fmt!r} is not supported; use one of "
            f"{', '.join(EXPORT_FORMATS)}"
        )
    suffix = target.suffix.lower()
    if suffix != f".{fmt}":
        found = f"suffix {target.suffix!r}" if suffix else "no suffix"
        raise ValueError(
            f"export target {str(target)!r} has {found} but the format is "
            f"{fmt!r}; name the file {target.with_suffix(f'.{fmt}').name!r} "
            f"or choose the format that matches the suffix"
        )


def export_disclosed(
    disclosure: Disclosure,
    fmt: str,
    target: Path,
    kpi_id: str | None = None,
    language: Language = "nl",
    with_farms: bool = True,
) -> Path:
    """Write the tables of a :class:`~geo_dashboard.privacy.Disclosure` to ``target``.

    ``with_farms`` adds the farm sheets of :func:`farm_sheets` to an Excel file.
    """
    check_target(fmt, Path(target))
    output = disclosure.build
    chosen = kpi_id or str(output.kpis["kpi_id"].iloc[0])
    if fmt == "xlsx" and with_farms:
        sheets = farm_sheets(disclosure)
        return export_kpis_excel(output, Path(target), language, sheets)
    return WRITERS[fmt](output, Path(target), chosen, language)
