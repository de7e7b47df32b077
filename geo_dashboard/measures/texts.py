"""UI texts of the scenario page, from the ``scenarios`` catalogue domain.

The domain's PO catalogues are read and checked by the same loader as the
rest of the message catalogue. Besides the lookup, this module puts the
checks of a scenario step into translated texts, so the page does not show
the English messages of the library's exceptions.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from geo_dashboard.errors import ConfigError, UnknownIdError
from geo_dashboard.expressions import formula_columns
from geo_dashboard.i18n import check_language, load_messages

if TYPE_CHECKING:
    from geo_dashboard.measures.engine import ScenarioEngine
    from geo_dashboard.measures.library import Measure

logger = logging.getLogger(__name__)

CATALOGUE = "scenarios"


@lru_cache(maxsize=1)
def _catalogue() -> dict[str, dict[str, str]]:
    return load_messages(CATALOGUE)


def scenario_text(key: str, language: str, **params: Any) -> str:
    """Return the text of ``key`` in ``language``, with ``params`` filled in.

    Raises
    ------
    UnknownIdError
        If the catalogue has no message ``key``.
    """
    check_language(language)
    texts = _catalogue().get(key)
    if texts is None:
        raise UnknownIdError(
            f"message key {key!r} is not in the {CATALOGUE!r} catalogue domain; add "
            f"it to geo_dashboard/locale/<language>/LC_MESSAGES/{CATALOGUE}.po "
            "in every language"
        )
    text = texts[language]
    return text.format(**params) if params else text


def _listed(items: list[str], language: str, limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    if len(items) > limit:
        shown += scenario_text(
            "scenarios.error.more", language, count=len(items) - limit
        )
    return shown


def unavailable_text(
    engine: ScenarioEngine, measure: Measure, language: str
) -> str | None:
    """Return why ``measure`` cannot be used in this area, in ``language``, or None.

    This is :meth:`ScenarioEngine.unavailable_reason` as a translated text.
    """
    missing = sorted(measure.columns_used - set(engine.table.columns))
    if not missing:
        return None
    return scenario_text(
        "scenarios.error.missing_columns", language, columns=", ".join(missing)
    )


def _condition_text(engine: ScenarioEngine, measure: Measure, language: str) -> str:
    return unavailable_text(engine, measure, language) or scenario_text(
        "scenarios.error.applies_only", language, condition=measure.applies_to
    )


def step_problem(
    engine: ScenarioEngine, step: dict[str, Any], language: str
) -> str | None:
    """Check a step of the scenario page and return what is wrong, or None.

    The checks are those of :meth:`Scenario.assignment` that a user can fail
    through the page: a rule formula that is invalid or names unknown columns,
    parcel ids that are not in the build, and parcels where the measure does
    not apply. The text is in ``language``; the English details of the
    library's own errors go to the log.
    """
    measure_id = step.get("measure")
    if measure_id is not None and measure_id not in engine.library.ids:
        return scenario_text(
            "scenarios.error.unknown_measure", language, measure=measure_id
        )
    if step["kind"] == "rule":
        return _rule_problem(engine, step.get("where"), language)
    ids = [str(item) for item in step.get("parcel_ids") or []]
    positions = engine.parcel_ids.get_indexer(ids)
    unknown = [pid for pid, pos in zip(ids, positions, strict=True) if pos < 0]
    if unknown:
        return scenario_text(
            "scenarios.error.unknown_parcels",
            language,
            parcels=_listed(unknown, language),
        )
    if measure_id is None:
        return None
    wrong = [
        pid
        for pid, pos in zip(ids, positions, strict=True)
        if not engine.applicable(measure_id)[pos]
    ]
    if not wrong:
        return None
    measure = engine.library.get(measure_id)
    return scenario_text(
        "scenarios.error.not_applicable",
        language,
        measure=measure.name.get(language),
        parcels=_listed(wrong, language),
        condition=_condition_text(engine, measure, language),
    )


def _rule_problem(
    engine: ScenarioEngine, where: str | None, language: str
) -> str | None:
    if where is None:
        return None
    try:
        columns = formula_columns(where)
    except ConfigError as err:
        logger.info("rule formula rejected: %s", err)
        return scenario_text("scenarios.error.formula", language, formula=where)
    missing = sorted(set(columns) - set(engine.table.columns))
    if missing:
        return scenario_text(
            "scenarios.error.unknown_columns",
            language,
            formula=where,
            columns=", ".join(missing),
            available=", ".join(sorted(map(str, engine.table.columns))),
        )
    return None
