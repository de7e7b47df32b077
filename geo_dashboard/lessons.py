"""Reflections of every area's cycles, for learning across areas.

The cycles page lists the reflections of one area. Here they are read for
all areas at once and filtered by area, theme (of the KPI a reflection is
about), measure and kind. The texts are returned as stored; the page shows
them in data tables, which display text literally.

Every viewer sees the fields the cycles page shows every viewer: cycle,
kind, text, KPI, author and time, plus the measure evaluation.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import select

from geo_dashboard.errors import GeoDashboardError
from geo_dashboard.i18n import translate, translate_value
from geo_dashboard.kpis import KpiLibrary
from geo_dashboard.measures.loader import load_measure_library
from geo_dashboard.measures.proposals import library_with_accepted
from geo_dashboard.store.engine import Store
from geo_dashboard.store.models import ASSESSMENTS, Area, Cycle, Reflection

logger = logging.getLogger(__name__)

# Theme key of a reflection that is about no KPI (or about an unknown one).
NO_THEME = "none"

LESSON_COLUMNS = (
    "area", "cycle", "kind", "theme", "kpi", "text", "measure",
    "effective", "feasible", "evidence", "by", "when",
)  # fmt: skip


@dataclass(frozen=True)
class Lesson:
    """One reflection with its area, cycle version and the theme of its KPI."""

    area_id: str
    cycle_version: str
    kind: str
    text: str
    kpi_id: str | None
    theme: str
    measure: str | None
    effective: str | None
    feasible: str | None
    evidence: str | None
    created_by: str
    created_at: datetime


def list_lessons(
    store: Store,
    library: KpiLibrary,
    *,
    areas: Iterable[str] | None = None,
    themes: Iterable[str] | None = None,
    measures: Iterable[str] | None = None,
    kinds: Iterable[str] | None = None,
) -> list[Lesson]:
    """Return the reflections of all areas that match the filters, newest first.

    Parameters
    ----------
    store
        An open store.
    library
        KPI definitions, which give the theme of a reflection's KPI.
    areas, themes, measures, kinds
        Keep only reflections with one of these values; None keeps all. A
        theme is a KPI theme or :data:`NO_THEME`. Measures are compared
        after trimming spaces, so " mowing " matches "mowing".
    """
    query = (
        select(Reflection, Cycle.version)
        .join(Cycle, Reflection.cycle_id == Cycle.id)
        .order_by(Reflection.created_at.desc(), Reflection.id.desc())
    )
    if areas is not None:
        query = query.where(Reflection.area_id.in_(list(areas)))
    if kinds is not None:
        query = query.where(Reflection.kind.in_(list(kinds)))
    with store.read() as session:
        rows = session.execute(query).all()
    lessons = [_lesson(reflection, version, library) for reflection, version in rows]
    if themes is not None:
        selected = set(themes)
        lessons = [lesson for lesson in lessons if lesson.theme in selected]
    if measures is not None:
        selected = {measure.strip() for measure in measures}
        lessons = [lesson for lesson in lessons if lesson.measure in selected]
    logger.debug("read %d reflections across areas", len(lessons))
    return lessons


def _lesson(reflection: Reflection, version: str, library: KpiLibrary) -> Lesson:
    kpi_id = reflection.kpi_id
    theme = library.get(kpi_id).theme if kpi_id and kpi_id in library.ids else NO_THEME
    measure = reflection.measure.strip() if reflection.measure else None
    return Lesson(
        area_id=reflection.area_id,
        cycle_version=version,
        kind=reflection.kind,
        text=reflection.text,
        kpi_id=kpi_id,
        theme=theme,
        measure=measure or None,
        effective=reflection.effective,
        feasible=reflection.feasible,
        evidence=reflection.evidence,
        created_by=reflection.created_by,
        created_at=reflection.created_at,
    )


def area_names(store: Store, language: str) -> dict[str, str]:
    """Return the id and name in ``language`` of every area in the store, by id."""
    with store.read() as session:
        areas = session.scalars(select(Area).order_by(Area.area_id)).all()
    return {
        area.area_id: area.name_en if language == "en" else area.name_nl
        for area in areas
    }


# Measure names per area id, then per measure id.
MeasureNames = Mapping[str, Mapping[str, str]]


def measure_names(
    area_ids: Iterable[str],
    configs_dir: Path,
    language: str,
    store: Store | None = None,
) -> dict[str, dict[str, str]]:
    """Return the measure names in ``language`` of each area's measure library.

    The library is the shared one with the area's overrides and, when
    ``store`` is given, its accepted proposals. An area whose library cannot
    be read is logged and left out, so its measures are shown by id.
    """
    names: dict[str, dict[str, str]] = {}
    for area_id in sorted(set(area_ids)):
        try:
            library = load_measure_library(area_id, configs_dir)
            if store is not None:
                library = library_with_accepted(library, store, area_id)
        except GeoDashboardError as err:
            logger.warning(
                "measure names of area %s are not available: %s", area_id, err
            )
            continue
        names[area_id] = {
            measure.id: measure.name.get(language) for measure in library.measures
        }
    return names


def measure_label(names: MeasureNames, measure_id: str, area_id: str | None) -> str:
    """Return the name of ``measure_id`` in ``area_id``'s library, else its id.

    Without an area, or when that area does not define the measure, the
    name from the first other area that does is used.
    """
    if area_id is not None and measure_id in names.get(area_id, {}):
        return names[area_id][measure_id]
    for area_id_other in sorted(names):
        if measure_id in names[area_id_other]:
            return names[area_id_other][measure_id]
    return measure_id


def filter_options(lessons: list[Lesson]) -> dict[str, list[str]]:
    """Return the sorted areas, themes, measures and kinds found in ``lessons``."""
    return {
        "area": sorted({lesson.area_id for lesson in lessons}),
        "theme": sorted({lesson.theme for lesson in lessons}),
        "measure": sorted({lesson.measure for lesson in lessons if lesson.measure}),
        "kind": sorted({lesson.kind for lesson in lessons}),
    }


def theme_label(theme: str, language: str) -> str:
    """Return the label of a theme key, including :data:`NO_THEME`."""
    if theme == NO_THEME:
        return translate("lessons.no_theme", language)
    return translate_value("theme", theme, language)


def lesson_table(
    lessons: list[Lesson],
    library: KpiLibrary,
    names: Mapping[str, str],
    language: str,
    measures: MeasureNames | None = None,
) -> pd.DataFrame:
    """Return one row per lesson, texts in ``language``, columns titled.

    A measure is named from ``measures`` (see :func:`measure_names`), or by
    its id when the area's library does not define it. The reflection text,
    evidence and author stay as stored: a data table shows them literally,
    so markup in them is not rendered.
    """
    measures = measures or {}
    rows = []
    for lesson in lessons:
        kpi = ""
        if lesson.kpi_id:
            kpi = (
                library.get(lesson.kpi_id).name.get(language)
                if lesson.kpi_id in library.ids
                else lesson.kpi_id
            )
        rows.append(
            {
                "area": names.get(lesson.area_id, lesson.area_id),
                "cycle": f"v{lesson.cycle_version}",
                "kind": translate(f"cycles.reflection.{lesson.kind}", language),
                "theme": theme_label(lesson.theme, language),
                "kpi": kpi,
                "text": lesson.text,
                "measure": (
                    measure_label(measures, lesson.measure, lesson.area_id)
                    if lesson.measure
                    else ""
                ),
                "effective": _assessment(lesson.effective, language),
                "feasible": _assessment(lesson.feasible, language),
                "evidence": lesson.evidence or "",
                "by": lesson.created_by,
                "when": lesson.created_at.strftime("%Y-%m-%d %H:%M"),
            }
        )
    table = pd.DataFrame(rows, columns=list(LESSON_COLUMNS))
    table.columns = [
        translate(f"lessons.column.{key}", language) for key in LESSON_COLUMNS
    ]
    return table


def evaluation_table(
    lessons: list[Lesson],
    names: Mapping[str, str],
    language: str,
    measures: MeasureNames | None = None,
) -> pd.DataFrame:
    """Return per measure the number of evaluations and how they were assessed.

    Only lessons of kind ``evaluation`` that name a measure count. The
    ``effective`` and ``feasible`` cells read like "ja 2 · deels 1". The
    measure is named as in :func:`lesson_table`.
    """
    measures = measures or {}
    rows = []
    evaluations = [x for x in lessons if x.kind == "evaluation" and x.measure]
    for measure in sorted({lesson.measure or "" for lesson in evaluations}):
        group = [lesson for lesson in evaluations if lesson.measure == measure]
        areas = sorted({names.get(lesson.area_id, lesson.area_id) for lesson in group})
        rows.append(
            {
                "measure": measure_label(measures, measure, group[0].area_id),
                "evaluations": len(group),
                "areas": ", ".join(areas),
                "effective": _counts([lesson.effective for lesson in group], language),
                "feasible": _counts([lesson.feasible for lesson in group], language),
            }
        )
    keys = ("measure", "evaluations", "areas", "effective", "feasible")
    table = pd.DataFrame(rows, columns=list(keys))
    table.columns = [translate(f"lessons.column.{key}", language) for key in keys]
    return table


def _assessment(value: str | None, language: str) -> str:
    return translate(f"cycles.assessment.{value}", language) if value else ""


def _counts(values: list[str | None], language: str) -> str:
    parts = []
    for assessment in ASSESSMENTS:
        count = sum(1 for value in values if value == assessment)
        if count:
            parts.append(f"{_assessment(assessment, language)} {count}")
    return " · ".join(parts)
