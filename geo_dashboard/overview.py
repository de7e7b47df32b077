"""Content of the overview page: KPI cards per theme, data gaps and sources.

Everything here works on the tables of a build and returns plain data
classes with the texts already translated and formatted, so the page only
lays them out. A KPI without a value (a data gap) keeps ``value=None`` and
shows the "no data" text, never ``0``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from geo_dashboard.i18n import format_value, is_missing, translate, translate_value
from geo_dashboard.kpis import THEMES, KpiLibrary

logger = logging.getLogger(__name__)

THEME_ORDER: tuple[str, ...] = (
    "nature",
    "climate",
    "water",
    "biodiversity",
    "agriculture",
    "other",
)

# Bases of a baseline or target value that are assumptions, not facts.
PROVISIONAL_BASES = {"provisional"}


@dataclass(frozen=True)
class ValueSource:
    """A baseline or target: value, year, basis and where the number comes from."""

    value: float | None
    year: int | None
    basis: str
    basis_label: str
    source: str
    text: str

    @property
    def provisional(self) -> bool:
        """Whether the number is an assumption to be revised."""
        return self.basis in PROVISIONAL_BASES


@dataclass(frozen=True)
class KpiCard:
    """One KPI as shown on the overview page, texts in the chosen language."""

    kpi_id: str
    theme: str
    name: str
    description: str
    unit: str
    direction: str
    status: str
    status_label: str
    value: float | None
    value_text: str
    data_year: int | None
    baseline: ValueSource
    target: ValueSource
    progress: float | None
    progress_bar: float | None
    expected_progress: float | None
    missing_roles: list[str] = field(default_factory=list)
    source: str = ""
    quality: str = ""

    @property
    def is_gap(self) -> bool:
        """Whether the KPI has no value because input data is missing."""
        return self.value is None


@dataclass(frozen=True)
class ThemeGroup:
    """The KPI cards of one theme, in the order of the area config."""

    theme: str
    title: str
    cards: list[KpiCard]


@dataclass(frozen=True)
class DataGap:
    """A KPI that has no value because the layer of ``role`` is missing."""

    kpi_id: str
    kpi_name: str
    role: str
    role_label: str
    holder: str | None


@dataclass(frozen=True)
class LayerSource:
    """A layer used by the build, with its publisher and licence."""

    layer_id: str
    file: str
    year: int | None
    publisher: str
    licence: str


def _optional_float(value: Any) -> float | None:
    return None if is_missing(value) else float(value)


def _optional_int(value: Any) -> int | None:
    return None if is_missing(value) else int(value)


def _text(value: Any) -> str:
    return "" if is_missing(value) else str(value)


def clip_progress(progress: float | None) -> float | None:
    """Clip a progress fraction to 0..1 for a progress bar; None stays None."""
    if progress is None or math.isnan(progress):
        return None
    return min(max(float(progress), 0.0), 1.0)


def split_roles(missing_layers: Any) -> list[str]:
    """Split the ``missing_layers`` cell of the KPI table into layer roles."""
    if is_missing(missing_layers):
        return []
    return [role.strip() for role in str(missing_layers).split(",") if role.strip()]


def _value_source(
    row: Mapping[str, Any], prefix: str, unit: str, language: str
) -> ValueSource:
    value = _optional_float(row.get(f"{prefix}_value"))
    basis = _text(row.get(f"{prefix}_basis"))
    return ValueSource(
        value=value,
        year=_optional_int(row.get(f"{prefix}_year")),
        basis=basis,
        basis_label=translate_value("basis", basis, language) if basis else "",
        source=_text(row.get(f"{prefix}_source")),
        text=format_value(value, unit, language),
    )


def kpi_card(
    row: Mapping[str, Any], language: str, library: KpiLibrary | None = None
) -> KpiCard:
    """Turn one row of the build's KPI table into a card.

    Parameters
    ----------
    row
        A row of ``kpis.csv`` (see ``geo_dashboard.kpi_table.KPI_COLUMNS``).
    language
        ``"nl"`` or ``"en"``.
    library
        KPI definitions, for the description; without it the card has none.
    """
    unit = _text(row.get("unit"))
    status = _text(row.get("status"))
    value = _optional_float(row.get("value"))
    if status == "gap" and value is not None:
        logger.warning(
            "KPI %s has status gap but value %s; showing it as a gap",
            row.get("kpi_id"),
            value,
        )
        value = None
    progress = None if value is None else _optional_float(row.get("progress"))

    description = ""
    kpi_id = str(row["kpi_id"])
    if library is not None and kpi_id in library.ids:
        description = library.get(kpi_id).description.get(language)

    return KpiCard(
        kpi_id=kpi_id,
        theme=_text(row.get("theme")) or "other",
        name=_text(row.get("name_en" if language == "en" else "name_nl")),
        description=description,
        unit=unit,
        direction=_text(row.get("direction")),
        status=status,
        status_label=translate(f"status.{status}", language),
        value=value,
        value_text=format_value(value, unit, language),
        data_year=_optional_int(row.get("data_year")),
        baseline=_value_source(row, "baseline", unit, language),
        target=_value_source(row, "target", unit, language),
        progress=progress,
        progress_bar=clip_progress(progress),
        expected_progress=_optional_float(row.get("expected_progress")),
        missing_roles=split_roles(row.get("missing_layers")),
        source=_text(row.get("source")),
        quality=_text(row.get("quality")),
    )


def theme_rank(theme: str) -> int:
    """Return the position of ``theme`` on the page; unknown themes go last."""
    if theme in THEME_ORDER:
        return THEME_ORDER.index(theme)
    return len(THEME_ORDER)


def kpi_cards(
    kpis: pd.DataFrame, language: str, library: KpiLibrary | None = None
) -> list[ThemeGroup]:
    """Group the KPIs of a build into cards per theme.

    Parameters
    ----------
    kpis
        The build's KPI table (``kpis.csv``).
    language
        ``"nl"`` or ``"en"``.
    library
        KPI definitions, for the card descriptions.

    Returns
    -------
    list of ThemeGroup
        Themes in the order nature, climate, water, biodiversity,
        agriculture, other, leaving out themes without KPIs. Within a theme
        the KPIs keep the order of the table.
    """
    cards = [kpi_card(row, language, library) for row in kpis.to_dict("records")]
    unknown = sorted({card.theme for card in cards} - set(THEMES))
    if unknown:
        logger.warning("KPI table has unknown theme(s) %s; shown last", unknown)

    groups = []
    for theme in sorted(
        {card.theme for card in cards}, key=lambda t: (theme_rank(t), t)
    ):
        groups.append(
            ThemeGroup(
                theme=theme,
                title=translate_value("theme", theme, language),
                cards=[card for card in cards if card.theme == theme],
            )
        )
    return groups


def data_gaps(
    kpis: pd.DataFrame, manifest: Mapping[str, Any], language: str
) -> list[DataGap]:
    """List each KPI without a value with the layer role it lacks.

    Parameters
    ----------
    kpis
        The build's KPI table.
    manifest
        The build's manifest; its ``data_gaps`` maps a layer role to the
        organisation that has or could supply that layer.
    language
        ``"nl"`` or ``"en"``.

    Returns
    -------
    list of DataGap
        One entry per KPI and missing role, in the order of the KPI table.
        ``holder`` is None when the area config names nobody for the role.
    """
    holders: Mapping[str, str] = manifest.get("data_gaps") or {}
    gaps = []
    for row in kpis.to_dict("records"):
        card = kpi_card(row, language)
        if not card.is_gap:
            continue
        roles = card.missing_roles or [""]
        for role in roles:
            gaps.append(
                DataGap(
                    kpi_id=card.kpi_id,
                    kpi_name=card.name,
                    role=role,
                    role_label=(
                        translate_value("role", role, language)
                        if role
                        else translate("gap.unknown_role", language)
                    ),
                    holder=holders.get(role),
                )
            )
    return gaps


def layer_sources(manifest: Mapping[str, Any]) -> list[LayerSource]:
    """List the layers a build used, with publisher, year and licence."""
    sources = []
    for layer in manifest.get("layers") or []:
        sources.append(
            LayerSource(
                layer_id=str(layer.get("id", "")),
                file=str(layer.get("file", "")),
                year=_optional_int(layer.get("year")),
                publisher=str(layer.get("publisher", "")),
                licence=str(layer.get("licence", "")),
            )
        )
    return sources
