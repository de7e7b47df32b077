"""Measures proposed by area participants, as data and as library measures.

A proposal states where a measure applies (:class:`Applicability`), its
expected change of the parcel values behind KPIs (:data:`PROPOSAL_KPIS`), its
costs and its effect on farm operations. When the area coordinator accepts
it, :func:`proposal_measure` turns it into a library
:class:`~geo_dashboard.measures.library.Measure`, so the library's own
validation applies. The measure is labelled as proposed by area
participants, and every number without a source is labelled an estimate.

:func:`engine_with_accepted` adds an area's accepted proposals to a
scenario engine, so the Scenarios page and the optimiser can use them.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy import select

from geo_dashboard.crops import LAND_USES, load_crop_table
from geo_dashboard.errors import GeoDashboardError
from geo_dashboard.i18n import LANGUAGES, format_number, translate, translate_value
from geo_dashboard.kpis import KpiLibrary
from geo_dashboard.measures.engine import ScenarioEngine
from geo_dashboard.measures.library import Measure, MeasureLibrary, ValueRange
from geo_dashboard.measures.loader import add_measures
from geo_dashboard.store.engine import Store
from geo_dashboard.store.models import MeasureProposal

logger = logging.getLogger(__name__)

# Maximum lengths of the free texts of a proposal, in characters.
MAX_TITLE = 120
MAX_TEXT = 4000
MAX_SOURCE = 1000
# Maximum length of the title part of a suggested measure id.
MAX_SLUG = 40
# Peat share above which a parcel counts as on peat, as in the shared
# library's peat measures.
PEAT_SHARE_LIMIT = 0.5
# Land uses a proposal applies to when it names no land use and no crop group.
FARMLAND = tuple(sorted(LAND_USES - {"nature"}))
PROPOSAL_LABEL = "proposed by area participants"
# Characters with a meaning in Markdown or HTML (links, images, emphasis,
# tags, colour and maths syntax).
_MARKUP = re.compile(r"[\\`*_{}\[\]<>#|~$!^=&]")

LandUse = Literal["arable", "fallow", "fruit", "grassland", "horticulture", "nature"]


@dataclass(frozen=True)
class ProposalKpi:
    """A KPI that a proposal can change, and the parcel column its effect changes.

    ``column`` is the parcel attribute that the KPI aggregates per hectare;
    an effect of ``x`` adds ``x`` (in ``unit``) to it on every treated parcel.
    """

    column: str
    unit: str
    theme: str


# KPIs whose value is a per-hectare parcel attribute that a measure can
# change by a number. Share KPIs (grassland, agri-environment, nitrate risk)
# count land by its crop and change only with a change of crop, which a
# proposal does not state.
PROPOSAL_KPIS: dict[str, ProposalKpi] = {
    "nh3_concentration_farmland": ProposalKpi("nh3_mean", "µg/m³", "nature"),
    "n_deposition_farmland": ProposalKpi("n_deposition_mean", "mol N/ha/jr", "nature"),
    "peat_co2_emission": ProposalKpi(
        "peat_emission_rate", "kg CO2-eq/ha/jr", "climate"
    ),
    "nh3_emission_change": ProposalKpi(
        "nh3_emission_change_kg_ha", "kg NH3/ha/jr", "nature"
    ),
}


class ProposalInvalidError(GeoDashboardError, ValueError):
    """A proposal cannot become a library measure; the message names the field."""


class Estimate(BaseModel):
    """A low/mid/high number from a proposal, with its source or none.

    An empty ``source`` means the numbers are an estimate of the proposer.
    The three values must be ordered, rising or falling, as in the library.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    low: float
    mid: float
    high: float
    source: str = Field(default="", max_length=MAX_SOURCE)

    @field_validator("source")
    @classmethod
    def _strip(cls, source: str) -> str:
        return source.strip()

    @model_validator(mode="after")
    def _ordered(self) -> Estimate:
        self.value_range(PROPOSAL_LABEL)
        return self

    @property
    def is_estimate(self) -> bool:
        """Whether the proposal gives no source for the numbers."""
        return not self.source

    def value_range(self, note: str) -> ValueRange:
        """Return the numbers as a library range, labelled with ``note``.

        Raises
        ------
        ValueError
            If the values are not ordered (the library's check).
        """
        if self.is_estimate:
            basis, source = "estimate", f"estimate, {note}; no source given"
        else:
            basis, source = "literature", f"{note}; source: {self.source}"
        try:
            return ValueRange(
                low=self.low,
                mid=self.mid,
                high=self.high,
                basis=basis,
                source=source,
            )
        except ValidationError as err:
            messages = [
                item["msg"].removeprefix("Value error, ") for item in err.errors()
            ]
            raise ValueError("; ".join(messages)) from None


class CostEstimate(Estimate):
    """A cost in EUR per hectare of treated area; costs cannot be negative."""

    low: float = Field(ge=0)
    mid: float = Field(ge=0)
    high: float = Field(ge=0)


class Applicability(BaseModel):
    """Conditions on the parcels a proposed measure applies to.

    :meth:`formula` turns them into the library's ``applies_to`` formula.

    All given conditions must hold. Without land uses and crop groups the
    measure applies to all farmland (every land use except nature).
    ``along_water`` means the parcel has water within the area's
    ``water_adjacency_m`` (5 m by default), the parcel column
    ``water_length_m > 0``.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    land_uses: list[LandUse] = Field(default_factory=list)
    crop_groups: list[str] = Field(default_factory=list)
    soil: Literal["any", "peat", "mineral"] = "any"
    max_natura2000_distance_m: float | None = Field(default=None, gt=0, le=100_000)
    along_water: bool = False

    @field_validator("crop_groups")
    @classmethod
    def _known_groups(cls, groups: list[str]) -> list[str]:
        known = crop_groups()
        unknown = sorted(set(groups) - set(known))
        if unknown:
            raise ValueError(
                f"unknown crop group(s) {', '.join(unknown)}; use one of "
                f"{', '.join(known)}"
            )
        return sorted(set(groups))

    @field_validator("land_uses")
    @classmethod
    def _unique(cls, land_uses: list[LandUse]) -> list[LandUse]:
        return sorted(set(land_uses))

    def formula(self) -> str:
        """Return the ``applies_to`` formula over the parcel table."""
        land_uses = self.land_uses or ([] if self.crop_groups else list(FARMLAND))
        parts = []
        if land_uses:
            parts.append(f"land_use in {_quoted(land_uses)}")
        if self.crop_groups:
            parts.append(f"crop_group in {_quoted(self.crop_groups)}")
        if self.soil == "peat":
            parts.append(f"peat_share > {PEAT_SHARE_LIMIT}")
        elif self.soil == "mineral":
            parts.append(f"peat_share <= {PEAT_SHARE_LIMIT}")
        if self.max_natura2000_distance_m is not None:
            parts.append(f"n2000_distance_m <= {self.max_natura2000_distance_m:g}")
        if self.along_water:
            parts.append("water_length_m > 0")
        return " and ".join(parts)


class ProposalContent(BaseModel):
    """The content of a proposal: the measure, its effects and its costs.

    ``effects`` maps KPI ids of :data:`PROPOSAL_KPIS` to the change of the
    KPI's parcel value on each treated parcel, in the unit given there (the
    library's ``add`` effect). ``income_change`` is
    the change of farm income in EUR/ha/yr; without it the income change is
    taken as minus the annual cost, labelled as an estimate.
    """

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=3, max_length=MAX_TITLE)
    description: str = Field(min_length=1, max_length=MAX_TEXT)
    applies: Applicability = Field(default_factory=Applicability)
    effects: dict[str, Estimate] = Field(min_length=1)
    annual_cost: CostEstimate
    one_off_cost: CostEstimate
    farm_operations: str = Field(min_length=1, max_length=MAX_TEXT)
    income_change: Estimate | None = None

    @field_validator("title", "description", "farm_operations", mode="before")
    @classmethod
    def _strip(cls, text: object) -> object:
        return text.strip() if isinstance(text, str) else text

    @field_validator("effects")
    @classmethod
    def _known_kpis(cls, effects: dict[str, Estimate]) -> dict[str, Estimate]:
        unknown = sorted(set(effects) - set(PROPOSAL_KPIS))
        if unknown:
            raise ValueError(
                f"unknown KPI id(s) {', '.join(repr(k) for k in unknown)}; a "
                f"proposal can change {', '.join(PROPOSAL_KPIS)}"
            )
        return effects

    @property
    def theme(self) -> str:
        """Theme of the first KPI the proposal changes."""
        return PROPOSAL_KPIS[next(iter(self.effects))].theme


def crop_groups() -> list[str]:
    """Return the crop groups of the packaged crop table, sorted."""
    return sorted(set(load_crop_table()["crop_group"]))


def suggest_measure_id(title: str, taken: Sequence[str] = ()) -> str:
    """Return a measure id made from ``title`` that is not in ``taken``.

    The id has lower-case ASCII letters, digits and ``_`` and starts with
    ``proposal_``, so it differs from the shared library's ids.
    """
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore")
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_title.decode().lower()).strip("_")
    if len(slug) > MAX_SLUG:
        # Cut at a word boundary where there is one.
        slug = slug[:MAX_SLUG].rsplit("_", 1)[0] or slug[:MAX_SLUG]
    base = f"proposal_{slug}".rstrip("_")
    candidate, number = base, 2
    while candidate in taken:
        candidate, number = f"{base}_{number}", number + 1
    return candidate


def kpi_names(
    kpi_library: KpiLibrary, library: MeasureLibrary, language: str
) -> dict[str, str]:
    """Return the name of each KPI of :data:`PROPOSAL_KPIS` in ``language``.

    A KPI id that neither the KPI library nor the measure library's
    indicators define (for example an indicator that an area disabled) is
    named by its id.
    """
    definitions = {kpi.id: kpi for kpi in library.indicators}
    names = {}
    for kpi_id in PROPOSAL_KPIS:
        definition = definitions.get(kpi_id)
        if definition is None and kpi_id in kpi_library.ids:
            definition = kpi_library.get(kpi_id)
        names[kpi_id] = definition.name.get(language) if definition else kpi_id
    return names


def plain_title(title: str) -> str:
    """Return ``title`` without Markdown and HTML syntax characters.

    Other pages show a library measure's name in Markdown without always
    escaping it, so the library gets this form. The proposal keeps the title
    as written.
    """
    return " ".join(_MARKUP.sub(" ", title).split())


def describe_applicability(applies: Applicability, language: str) -> str:
    """Describe in words of ``language`` where a proposed measure applies.

    The description follows :meth:`Applicability.formula`: farmland when no
    land use and no crop group is given, and every condition joined by "and".
    """
    if applies.land_uses or applies.crop_groups:
        parts = []
        if applies.land_uses:
            values = [
                translate_value("land_use", v, language) for v in applies.land_uses
            ]
            parts.append(
                translate(
                    "proposals.applies.land_uses",
                    language,
                    values=_join(values, "or", language),
                )
            )
        if applies.crop_groups:
            values = [
                translate_value("crop_group", v, language) for v in applies.crop_groups
            ]
            parts.append(
                translate(
                    "proposals.applies.crop_groups",
                    language,
                    values=_join(values, "or", language),
                )
            )
    else:
        parts = [translate("proposals.applies.farmland", language)]
    if applies.soil != "any":
        parts.append(translate(f"proposals.applies.soil_{applies.soil}", language))
    if applies.max_natura2000_distance_m is not None:
        distance = format_number(applies.max_natura2000_distance_m, language, 0)
        parts.append(
            translate("proposals.applies.distance", language, distance=distance)
        )
    if applies.along_water:
        parts.append(translate("proposals.applies.along_water", language))
    return _join(parts, "and", language)


def _join(parts: Sequence[str], word: str, language: str) -> str:
    """Join ``parts`` as "a, b and c" (``word`` is ``and`` or ``or``)."""
    if len(parts) < 2:
        return "".join(parts)
    last = translate(f"proposals.applies.{word}", language, last=parts[-1])
    return f"{', '.join(parts[:-1])} {last}"


@dataclass(frozen=True)
class DecisionProblem:
    """A reason why a decision cannot be stored, as a message key and parameters."""

    key: str
    params: dict[str, object]

    def text(self, language: str) -> str:
        """Return the problem as a text in ``language``."""
        return translate(self.key, language, **self.params)


def check_decision(
    measure_id: str | None, rationale: str, taken_ids: Sequence[str]
) -> list[DecisionProblem]:
    """Return the problems of a coordinator's decision before it is stored.

    ``measure_id`` is None for a rejection. The checks repeat the store's
    rules (:func:`geo_dashboard.store.proposals.accept_proposal`) so the page
    can name them in the viewer's language; the store still checks them.
    """
    # Imported here because the store module imports this one.
    from geo_dashboard.store.proposals import MEASURE_ID_MAX_LENGTH, MEASURE_ID_PATTERN

    problems = []
    reason = (rationale or "").strip()
    if not reason:
        problems.append(DecisionProblem("proposals.error.rationale_missing", {}))
    elif len(reason) > MAX_TEXT:
        problems.append(
            DecisionProblem(
                "proposals.error.rationale_too_long",
                {"length": len(reason), "maximum": MAX_TEXT},
            )
        )
    if measure_id is None:
        return problems
    new_id = measure_id.strip()
    if not MEASURE_ID_PATTERN.fullmatch(new_id):
        problems.append(
            DecisionProblem("proposals.error.measure_id_invalid", {"id": new_id})
        )
    elif len(new_id) > MEASURE_ID_MAX_LENGTH:
        problems.append(
            DecisionProblem(
                "proposals.error.measure_id_too_long",
                {"id": new_id, "length": len(new_id), "maximum": MEASURE_ID_MAX_LENGTH},
            )
        )
    elif new_id in taken_ids:
        problems.append(
            DecisionProblem("proposals.error.measure_id_taken", {"id": new_id})
        )
    return problems


def error_text(err: GeoDashboardError, language: str, action: str) -> str:
    """Return a text in ``language`` for an error of a proposal ``action``.

    ``action`` is ``submit``, ``accept``, ``reject`` or ``show``. The English
    error text, which names the field and value, is logged at warning level.
    """
    # Imported here because the store module imports this one.
    from geo_dashboard.store.errors import StoreError, StoreInputError
    from geo_dashboard.store.proposals import ProposalAccessError

    logger.warning("proposal %s failed: %s", action, err)
    fields = _invalid_fields(err)
    if fields:
        labels = [translate(f"proposals.field.{field}", language) for field in fields]
        return translate(
            "proposals.error.invalid_fields", language, fields=", ".join(labels)
        )
    # The most specific class comes first, because StoreInputError is a
    # StoreError.
    keys: tuple[tuple[type[Exception], str], ...] = (
        (ProposalAccessError, "proposals.error.access"),
        (ProposalInvalidError, "proposals.error.invalid"),
        (StoreInputError, "proposals.error.input"),
        (StoreError, "proposals.error.store"),
    )
    key = next(
        (key for kind, key in keys if isinstance(err, kind)), "proposals.error.other"
    )
    return translate(
        key, language, action=translate(f"proposals.action.{action}", language)
    )


def _invalid_fields(err: BaseException) -> list[str]:
    """Return the top-level fields of ProposalContent that failed validation."""
    cause = err.__cause__
    if not isinstance(cause, ValidationError) or cause.title != "ProposalContent":
        return []
    fields = []
    for item in cause.errors():
        field = str(item["loc"][0]) if item["loc"] else ""
        if field in ProposalContent.model_fields and field not in fields:
            fields.append(field)
    return fields


def _quoted(values: Sequence[str]) -> str:
    return "[" + ", ".join(f"'{value}'" for value in values) + "]"


def describe_error(err: ValidationError, prefix: str) -> str:
    """Describe each pydantic error as ``field.path: message``, joined by ``;``."""
    parts = []
    for item in err.errors():
        field = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown field; remove it"
        elif item["type"] == "missing":
            message = "required field is missing"
        parts.append(f"{field}: {message}")
    return f"{prefix}: " + "; ".join(parts)


def check_content(data: dict[str, object], prefix: str = "proposal") -> ProposalContent:
    """Validate proposal data and return it as :class:`ProposalContent`.

    Raises
    ------
    ProposalInvalidError
        Naming each invalid field, e.g. ``effects: unknown KPI id(s) 'x'``
        or ``annual_cost.low: Input should be greater than or equal to 0``.
    """
    try:
        return ProposalContent.model_validate(data)
    except ValidationError as err:
        raise ProposalInvalidError(describe_error(err, f"{prefix} is invalid")) from err


def proposal_measure(
    content: ProposalContent, measure_id: str, proposal_id: int | None = None
) -> Measure:
    """Return the library measure of a proposal, labelled as proposed.

    Raises
    ------
    ProposalInvalidError
        If the measure id is invalid or the library model rejects a field.
    """
    where = "proposal" if proposal_id is None else f"proposal {proposal_id}"
    note = PROPOSAL_LABEL if proposal_id is None else f"{PROPOSAL_LABEL} ({where})"
    income = content.income_change
    if income is not None:
        income_range = income.value_range(note).model_dump()
        income_range["source"] += f"; farm operations: {content.farm_operations}"
    else:
        cost = content.annual_cost
        income_range = {
            "low": -cost.low,
            "mid": -cost.mid,
            "high": -cost.high,
            "basis": "estimate",
            "source": (
                f"estimate, {note}: no income change was given, so it is taken "
                f"as minus the annual cost; farm operations: {content.farm_operations}"
            ),
        }
    data = {
        "id": measure_id,
        "name": {
            language: translate(
                "proposals.measure_name", language, title=plain_title(content.title)
            )
            for language in LANGUAGES
        },
        # The proposer's description stays on the proposals page: library
        # descriptions are shown as trusted Markdown on the Scenarios page.
        "description": {
            language: translate(
                "proposals.measure_description", language, id=proposal_id or "-"
            )
            for language in LANGUAGES
        },
        "theme": content.theme,
        "applies_to": content.applies.formula(),
        "effects": {
            PROPOSAL_KPIS[kpi_id].column: {
                "add": estimate.value_range(note).model_dump()
            }
            for kpi_id, estimate in content.effects.items()
        },
        "cost": {
            "annual_eur_ha": content.annual_cost.value_range(note).model_dump(),
            "one_off_eur_ha": content.one_off_cost.value_range(note).model_dump(),
        },
        "farm": {"income_eur_ha_yr": income_range},
    }
    try:
        return Measure.model_validate(data)
    except ValidationError as err:
        raise ProposalInvalidError(
            describe_error(err, f"{where} is not a valid library measure")
        ) from err


def accepted_measures(store: Store, area_id: str) -> list[Measure]:
    """Return the measures of an area's accepted proposals, oldest first.

    Raises
    ------
    ProposalInvalidError
        If a stored measure no longer passes the library model.
    """
    with store.read() as session:
        rows = session.execute(
            select(MeasureProposal.id, MeasureProposal.measure)
            .where(
                MeasureProposal.area_id == area_id,
                MeasureProposal.status == "accepted",
            )
            .order_by(MeasureProposal.id)
        ).all()
    measures = []
    for proposal_id, data in rows:
        try:
            measures.append(Measure.model_validate(data))
        except ValidationError as err:
            raise ProposalInvalidError(
                describe_error(
                    err, f"the measure of accepted proposal {proposal_id} is invalid"
                )
            ) from err
    return measures


def library_with_accepted(
    library: MeasureLibrary, store: Store, area_id: str
) -> MeasureLibrary:
    """Return ``library`` with the area's accepted proposals added.

    Raises
    ------
    ConfigError
        If an accepted measure id is also in ``library``, or a measure uses
        a column that the library does not know.
    """
    measures = accepted_measures(store, area_id)
    if not measures:
        return library
    return add_measures(library, measures, f"accepted proposals of area {area_id}")


_DERIVED: weakref.WeakKeyDictionary[
    ScenarioEngine, tuple[tuple[str, ...], ScenarioEngine]
] = weakref.WeakKeyDictionary()
_DERIVED_LOCK = threading.Lock()


def engine_with_accepted(
    engine: ScenarioEngine,
    store: Store | None,
    kpi_library: KpiLibrary,
    nature: pd.DataFrame | None,
) -> ScenarioEngine:
    """Return a scenario engine whose library also has the accepted proposals.

    Parameters
    ----------
    engine
        Engine of the area's build, with the shared library and overrides.
    store
        The dashboard store; None returns ``engine`` unchanged.
    kpi_library, nature
        The KPI definitions and Natura 2000 site table ``engine`` was made with.

    The derived engine is kept while ``engine`` lives and the accepted
    measures stay the same, so a page run does not rebuild it.

    Raises
    ------
    ConfigError, ProposalInvalidError
        If an accepted measure clashes with the library or is invalid.
    """
    if store is None:
        return engine
    area_id = engine.config.id
    measures = accepted_measures(store, area_id)
    if not measures:
        return engine
    key = tuple(measure.model_dump_json() for measure in measures)
    with _DERIVED_LOCK:
        cached = _DERIVED.get(engine)
        if cached is not None and cached[0] == key:
            return cached[1]
    library = add_measures(
        engine.library, measures, f"accepted proposals of area {area_id}"
    )
    derived = ScenarioEngine(engine.table, library, engine.config, kpi_library, nature)
    with _DERIVED_LOCK:
        _DERIVED[engine] = (key, derived)
    logger.info(
        "added %d accepted proposal(s) to the measure library of %s",
        len(measures),
        area_id,
    )
    return derived
