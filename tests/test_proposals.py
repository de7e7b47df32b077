"""Measure proposals: store, library merge, scenario effect, page and migration.

Library-level tests run on a fresh SQLite store per test in which the pilot
build is recorded (tests/farm_fixtures.py). Page tests run the real app with
Streamlit's AppTest, logged in as the pilot's test users.
"""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError
from streamlit.testing.v1 import AppTest

from geo_dashboard.catalog import load_catalog
from geo_dashboard.config import load_area_config
from geo_dashboard.crops import LAND_USES
from geo_dashboard.errors import ConfigError
from geo_dashboard.kpis import load_kpi_library
from geo_dashboard.measures.engine import ScenarioEngine
from geo_dashboard.measures.library import Measure
from geo_dashboard.measures.loader import add_measures, load_measure_library
from geo_dashboard.measures.proposals import (
    PROPOSAL_KPIS,
    Applicability,
    LandUse,
    ProposalInvalidError,
    accepted_measures,
    check_content,
    check_decision,
    describe_applicability,
    engine_with_accepted,
    error_text,
    library_with_accepted,
    proposal_measure,
)
from geo_dashboard.measures.scenario import ParcelStep, Scenario
from geo_dashboard.output import BuildOutput
from geo_dashboard.paths import ProjectPaths
from geo_dashboard.privacy import PUBLIC, Viewer
from geo_dashboard.store import Store, open_store
from geo_dashboard.store.engine import alembic_config, create_store_engine
from geo_dashboard.store.errors import StoreError, StoreInputError
from geo_dashboard.store.models import Base, MeasureProposal, utc_now
from geo_dashboard.store.proposals import (
    MEASURE_ID_PATTERN,
    ProposalAccessError,
    accept_proposal,
    list_proposals,
    reject_proposal,
    submit_proposal,
)
from tests import farm_fixtures
from tests.farm_fixtures import FARM_A, PASSWORD_A, PASSWORD_COORDINATOR
from tests.test_farm_page import app_env, page_text, restore_package_logger

store_url = farm_fixtures.store_url
farm_store = farm_fixtures.farm_store
__all__ = ["app_env", "restore_package_logger"]

AREA = "noordoostpolder"
FARMER = Viewer(role="farmer", farms=frozenset({FARM_A}), name="boer.a")
COORDINATOR = Viewer(role="coordinator", name="anna")
PLANNER = Viewer(role="planner", name="piet")
HOSTILE = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>")
MAIN = Path(__file__).resolve().parents[1] / "geo_dashboard" / "app" / "main.py"


def _content(**changes: object) -> dict:
    """Return a valid proposal: lower NH3 emission on potato parcels."""
    content = {
        "title": "Emissiearm uitrijden op aardappelpercelen",
        "description": "Mest direct inwerken op aardappelpercelen.",
        "applies": {"crop_groups": ["potatoes"], "soil": "any"},
        "effects": {
            "nh3_emission_change": {"low": -2, "mid": -4, "high": -6},
            "nh3_concentration_farmland": {
                "low": -0.05,
                "mid": -0.1,
                "high": -0.2,
                "source": "meting in een proefveld",
            },
        },
        "annual_cost": {"low": 20, "mid": 40, "high": 60},
        "one_off_cost": {"low": 0, "mid": 100, "high": 200, "source": "offerte"},
        "farm_operations": "Een loonwerker met een sleepvoetmachine.",
    }
    content.update(changes)
    return content


def _row_count(store: Store) -> int:
    with store.read() as session:
        return session.scalar(select(func.count()).select_from(MeasureProposal))


@pytest.fixture(scope="module")
def pilot_engine(pilot_build: BuildOutput, pilot_paths: ProjectPaths) -> ScenarioEngine:
    kpi_library = load_kpi_library()
    config = load_area_config(
        pilot_paths.configs, AREA, load_catalog(pilot_paths.layers), kpi_library
    )
    library = load_measure_library(AREA, pilot_paths.configs)
    return ScenarioEngine(
        pilot_build.parcels, library, config, kpi_library, pilot_build.nature
    )


# --- Content and conversion ---------------------------------------------------


def test_proposal_kpis_read_their_column(pilot_paths: ProjectPaths) -> None:
    kpi_library = load_kpi_library()
    library = load_measure_library(AREA, pilot_paths.configs)
    definitions = {kpi.id: kpi for kpi in library.indicators}
    for kpi_id, kpi in PROPOSAL_KPIS.items():
        definition = definitions.get(kpi_id) or kpi_library.get(kpi_id)
        columns = definition.columns
        if kpi.column == "peat_emission_rate":
            # The engine derives peat_emission_t from the rate.
            assert "peat_emission_t" in columns
        else:
            assert kpi.column in columns, kpi_id
        assert definition.theme == kpi.theme, kpi_id


def test_land_use_choices_match_crop_table() -> None:
    assert set(typing.get_args(LandUse)) == LAND_USES


def test_measure_id_pattern_matches_library() -> None:
    metadata = Measure.model_fields["id"].metadata
    assert any(
        getattr(item, "pattern", None) == MEASURE_ID_PATTERN.pattern
        for item in metadata
    )


def test_measure_labelled_as_proposal() -> None:
    measure = proposal_measure(check_content(_content()), "proposal_test", 7)
    assert measure.name.nl.endswith("(voorstel uit het gebied)")
    assert measure.name.en.endswith("(proposed in the area)")
    assert "voorstel 7" in measure.description.nl
    assert measure.applies_to == "crop_group in ['potatoes']"
    estimate = measure.effects["nh3_emission_change_kg_ha"].add
    assert estimate.basis == "estimate"
    assert "proposed by area participants" in estimate.source
    assert "no source given" in estimate.source
    sourced = measure.effects["nh3_mean"].add
    assert sourced.basis == "literature"
    assert "meting in een proefveld" in sourced.source
    income = measure.farm.income_eur_ha_yr
    assert (income.low, income.mid, income.high) == (-20, -40, -60)
    assert income.basis == "estimate"
    assert "sleepvoetmachine" in income.source


def test_applicability_formula() -> None:
    applies = {
        "land_uses": ["grassland", "arable"],
        "soil": "peat",
        "max_natura2000_distance_m": 1500,
        "along_water": True,
    }
    measure = proposal_measure(check_content(_content(applies=applies)), "p_one")
    assert measure.applies_to == (
        "land_use in ['arable', 'grassland'] and peat_share > 0.5 and "
        "n2000_distance_m <= 1500 and water_length_m > 0"
    )
    everywhere = proposal_measure(check_content(_content(applies={})), "p_two")
    assert everywhere.applies_to == (
        "land_use in ['arable', 'fallow', 'fruit', 'grassland', 'horticulture']"
    )


def test_applicability_described_in_words() -> None:
    applies = Applicability(
        land_uses=["arable", "fallow", "grassland"],
        soil="peat",
        max_natura2000_distance_m=1500,
        along_water=True,
    )
    dutch = describe_applicability(applies, "nl")
    assert dutch == (
        "grondgebruik bouwland, braak of grasland, op veen, binnen 1.500 m van "
        "Natura 2000 en langs water"
    )
    english = describe_applicability(applies, "en")
    assert "on peat" in english
    assert "1,500 m" in english
    for text in (dutch, english):
        assert "land_use" not in text
        assert "[" not in text


def test_applicability_default_is_farmland() -> None:
    assert describe_applicability(Applicability(), "nl") == "alle landbouwgrond"
    assert describe_applicability(Applicability(), "en") == "all farmland"


def test_decision_problems_translated() -> None:
    problems = check_decision("../evil", "  ", ["bestaand"])
    keys = [problem.key for problem in problems]
    assert keys == [
        "proposals.error.rationale_missing",
        "proposals.error.measure_id_invalid",
    ]
    texts = [problem.text("nl") for problem in problems]
    assert texts[0] == "Geef een motivering voor het besluit."
    assert "Maatregel-id '../evil' is ongeldig" in texts[1]
    assert "Measure id '../evil' is invalid" in problems[1].text("en")


def test_decision_problems_taken_and_long() -> None:
    taken = check_decision("bestaand", "reden", ["bestaand"])
    assert [p.key for p in taken] == ["proposals.error.measure_id_taken"]
    long_id = check_decision("a" * 64, "reden", [])
    assert [p.key for p in long_id] == ["proposals.error.measure_id_too_long"]
    assert long_id[0].params["maximum"] == 63
    assert check_decision(None, "reden", []) == []
    assert check_decision("nieuw_id", "reden", ["bestaand"]) == []


def test_error_text_logs_english(
    farm_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(ProposalInvalidError) as raised:
        submit_proposal(farm_store, AREA, FARMER, _content(title="", effects={}))
    with caplog.at_level("WARNING", logger="geo_dashboard.measures.proposals"):
        text = error_text(raised.value, "nl", "submit")
    assert text.startswith("Het voorstel is niet geldig. Controleer deze velden: ")
    assert "titel" in text
    assert "effecten" in text
    assert "proposal is invalid" in caplog.text

    with pytest.raises(ProposalAccessError) as denied:
        reject_proposal(farm_store, 1, FARMER, "reden")
    assert error_text(denied.value, "nl", "reject").startswith(
        "Het afwijzen is niet toegestaan voor uw rol."
    )


def test_markup_removed_from_library_name() -> None:
    content = check_content(_content(title=f"{HOSTILE[0]} ![x](http://e)"))
    measure = proposal_measure(content, "p_markup")
    for text in (measure.name.nl, measure.name.en):
        for character in "<>[]!":
            assert character not in text
    assert content.title.startswith(HOSTILE[0])


# --- Submit, accept, reject ----------------------------------------------------


def test_accept_adds_measure_and_changes_kpis(
    farm_store: Store,
    pilot_build: BuildOutput,
    pilot_paths: ProjectPaths,
    pilot_engine: ScenarioEngine,
) -> None:
    proposal = submit_proposal(farm_store, AREA, FARMER, _content(), "Boer A")
    assert proposal.status == "proposed"
    assert proposal.proposed_by == "Boer A"
    assert proposal.account == "boer.a"
    assert accepted_measures(farm_store, AREA) == []

    decided = accept_proposal(
        farm_store,
        proposal.id,
        COORDINATOR,
        "proposal_emissiearm_uitrijden",
        "Besproken in de gebiedsbijeenkomst",
        pilot_paths.configs,
    )
    assert decided.status == "accepted"
    assert decided.decided_by == "anna"
    assert decided.decided_at is not None
    assert decided.measure_id == "proposal_emissiearm_uitrijden"

    library = library_with_accepted(
        load_measure_library(AREA, pilot_paths.configs), farm_store, AREA
    )
    assert "proposal_emissiearm_uitrijden" in library.ids

    engine = engine_with_accepted(
        pilot_engine, farm_store, load_kpi_library(), pilot_build.nature
    )
    assert "proposal_emissiearm_uitrijden" in engine.library.ids
    assert "proposal_emissiearm_uitrijden" not in pilot_engine.library.ids
    again = engine_with_accepted(
        pilot_engine, farm_store, load_kpi_library(), pilot_build.nature
    )
    assert again is engine

    parcels = pilot_build.parcels.reset_index(drop=True)
    potatoes = parcels[parcels["crop_group"] == "potatoes"]
    chosen = potatoes.nlargest(3, "area_ha")
    assert len(chosen) == 3
    scenario = Scenario(
        name="proposal",
        area_id=AREA,
        steps=[
            ParcelStep(
                measure="proposal_emissiearm_uitrijden",
                parcel_ids=list(chosen["parcel_id"].astype(str)),
            )
        ],
    )
    result = engine.evaluate(scenario.assignment(engine))
    kpis = result.kpis.set_index("kpi_id")
    moved = chosen["area_ha"].sum()

    emission = kpis.loc["nh3_emission_change"]
    assert emission["low"] == pytest.approx(-2 * moved / 1000)
    assert emission["mid"] == pytest.approx(-4 * moved / 1000)
    assert emission["high"] == pytest.approx(-6 * moved / 1000)

    # Area-weighted mean NH3 over parcels with a value; the chosen parcels
    # lie on the NH3 grid, so each of their hectares drops by the effect.
    valid = parcels["nh3_mean"].notna()
    assert chosen["nh3_mean"].notna().all()
    weight = parcels.loc[valid, "area_ha"].sum()
    total = (parcels.loc[valid, "nh3_mean"] * parcels.loc[valid, "area_ha"]).sum()
    for variant, change in (("low", -0.05), ("mid", -0.1), ("high", -0.2)):
        expected = (total + change * moved) / weight
        assert kpis.loc["nh3_concentration_farmland", variant] == pytest.approx(
            expected
        )

    costs = result.total_cost()
    assert costs["annual_mid"] == pytest.approx(40 * moved)
    assert costs["one_off_mid"] == pytest.approx(100 * moved)


def test_reject_keeps_history(farm_store: Store, pilot_paths: ProjectPaths) -> None:
    proposal = submit_proposal(farm_store, AREA, PLANNER, _content())
    decided = reject_proposal(
        farm_store, proposal.id, COORDINATOR, "Valt buiten de gebiedsopgave"
    )
    assert decided.status == "rejected"
    assert decided.rationale == "Valt buiten de gebiedsopgave"
    assert decided.measure_id is None
    rows = list_proposals(farm_store, AREA)
    assert [row.id for row in rows] == [proposal.id]
    assert rows[0].proposed_by == "piet"
    assert list_proposals(farm_store, AREA, "rejected")[0].decided_by == "anna"
    assert accepted_measures(farm_store, AREA) == []


def test_rationale_required(farm_store: Store, pilot_paths: ProjectPaths) -> None:
    proposal = submit_proposal(farm_store, AREA, FARMER, _content())
    with pytest.raises(StoreInputError, match="rationale"):
        reject_proposal(farm_store, proposal.id, COORDINATOR, "  ")
    with pytest.raises(StoreInputError, match="rationale"):
        accept_proposal(
            farm_store, proposal.id, COORDINATOR, "p_x", "", pilot_paths.configs
        )
    assert list_proposals(farm_store, AREA)[0].status == "proposed"


INVALID = [
    (
        {"effects": {"nh3_meen": {"low": 1, "mid": 2, "high": 3}}},
        "effects: unknown KPI id(s) 'nh3_meen'",
    ),
    (
        {"effects": {"nh3_emission_change": {"low": -5, "mid": -1, "high": -3}}},
        "effects.nh3_emission_change: low -5.0, mid -1.0, high -3.0 are not in order",
    ),
    (
        {"annual_cost": {"low": -10, "mid": 0, "high": 10}},
        "annual_cost.low: Input should be greater than or equal to 0",
    ),
    ({"effects": {}}, "effects: Dictionary should have at least 1 item"),
    (
        {"applies": {"crop_groups": ["tulips"]}},
        "applies.crop_groups: Value error, unknown crop group(s) tulips",
    ),
    (
        {"one_off_cost": {"low": 0, "mid": float("nan"), "high": 1}},
        "one_off_cost.mid: Input should be a finite number",
    ),
]


@pytest.mark.parametrize(("changes", "message"), INVALID)
def test_invalid_proposal_writes_nothing(
    farm_store: Store, changes: dict, message: str
) -> None:
    with pytest.raises(ProposalInvalidError) as caught:
        submit_proposal(farm_store, AREA, FARMER, _content(**changes))
    assert message.replace("Value error, ", "") in str(caught.value)
    assert _row_count(farm_store) == 0


def _insert_raw(store: Store, **fields: object) -> int:
    """Store a proposal row directly, without the submit checks."""
    content = _content()
    row = MeasureProposal(
        area_id=AREA,
        proposed_by="oud formulier",
        account="boer.a",
        created_at=utc_now(),
        title=content["title"],
        description=content["description"],
        applies=content["applies"],
        effects=content["effects"],
        annual_cost=content["annual_cost"],
        one_off_cost=content["one_off_cost"],
        farm_operations=content["farm_operations"],
        income_change=None,
        status="proposed",
    )
    for name, value in fields.items():
        setattr(row, name, value)
    with store.write() as session:
        session.add(row)
        session.flush()
        return row.id


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"effects": {"nh3_emission_change": {"low": 3, "mid": 1, "high": 2}}},
            "effects.nh3_emission_change: low 3.0, mid 1.0, high 2.0 are not in order",
        ),
        (
            {"effects": {"farmland_in_nnn": {"low": 1, "mid": 2, "high": 3}}},
            "unknown KPI id(s) 'farmland_in_nnn'",
        ),
        (
            {"annual_cost": {"low": -1, "mid": 0, "high": 1}},
            "annual_cost.low: Input should be greater than or equal to 0",
        ),
    ],
)
def test_invalid_stored_proposal_not_accepted(
    farm_store: Store, pilot_paths: ProjectPaths, fields: dict, message: str
) -> None:
    proposal_id = _insert_raw(farm_store, **fields)
    with pytest.raises(ProposalInvalidError) as caught:
        accept_proposal(
            farm_store, proposal_id, COORDINATOR, "p_bad", "ok", pilot_paths.configs
        )
    assert f"proposal {proposal_id} is invalid" in str(caught.value)
    assert message in str(caught.value)
    row = list_proposals(farm_store, AREA)[0]
    assert row.status == "proposed"
    assert row.decided_by is None
    assert row.measure is None


def test_deciding_twice_rejected(farm_store: Store, pilot_paths: ProjectPaths) -> None:
    proposal = submit_proposal(farm_store, AREA, FARMER, _content())
    accept_proposal(
        farm_store, proposal.id, COORDINATOR, "p_once", "ja", pilot_paths.configs
    )
    with pytest.raises(StoreError, match="already accepted by anna"):
        reject_proposal(farm_store, proposal.id, COORDINATOR, "toch niet")
    with pytest.raises(StoreError, match="only proposals with status 'proposed'"):
        accept_proposal(
            farm_store, proposal.id, COORDINATOR, "p_twice", "ja", pilot_paths.configs
        )
    row = list_proposals(farm_store, AREA)[0]
    assert row.measure_id == "p_once"
    assert row.rationale == "ja"


def test_measure_id_clash_rejected(
    farm_store: Store, pilot_paths: ProjectPaths
) -> None:
    first = submit_proposal(farm_store, AREA, FARMER, _content())
    second = submit_proposal(farm_store, AREA, FARMER, _content())
    with pytest.raises(StoreInputError, match="already in the measure library"):
        accept_proposal(
            farm_store,
            first.id,
            COORDINATOR,
            "herb_rich_grassland",
            "ja",
            pilot_paths.configs,
        )
    accept_proposal(
        farm_store, first.id, COORDINATOR, "p_shared", "ja", pilot_paths.configs
    )
    with pytest.raises(StoreInputError, match=f"accepted proposal {first.id}"):
        accept_proposal(
            farm_store, second.id, COORDINATOR, "p_shared", "ja", pilot_paths.configs
        )
    with pytest.raises(StoreInputError, match="measure id 'P Shared' is invalid"):
        accept_proposal(
            farm_store, second.id, COORDINATOR, "P Shared", "ja", pilot_paths.configs
        )
    assert list_proposals(farm_store, AREA, "proposed")[0].id == second.id


def test_merge_clash_names_the_fix(pilot_paths: ProjectPaths) -> None:
    library = load_measure_library(AREA, pilot_paths.configs)
    clashing = proposal_measure(check_content(_content()), "herb_rich_grassland")
    with pytest.raises(ConfigError, match="list 'herb_rich_grassland' under disabled"):
        add_measures(library, [clashing], "accepted proposals of area test")


@pytest.mark.parametrize("viewer", [FARMER, PLANNER, PUBLIC])
def test_only_coordinator_decides(
    farm_store: Store, pilot_paths: ProjectPaths, viewer: Viewer
) -> None:
    proposal = submit_proposal(farm_store, AREA, FARMER, _content())
    with pytest.raises(ProposalAccessError, match="only a coordinator can accept"):
        accept_proposal(
            farm_store, proposal.id, viewer, "p_any", "ja", pilot_paths.configs
        )
    with pytest.raises(ProposalAccessError, match="only a coordinator can reject"):
        reject_proposal(farm_store, proposal.id, viewer, "nee")
    assert list_proposals(farm_store, AREA)[0].status == "proposed"


def test_public_cannot_propose(farm_store: Store) -> None:
    with pytest.raises(ProposalAccessError, match="needs a login"):
        submit_proposal(farm_store, AREA, PUBLIC, _content())
    assert _row_count(farm_store) == 0


def test_unknown_area_rejected(farm_store: Store) -> None:
    with pytest.raises(StoreError, match="'nowhere' is not in the dashboard store"):
        submit_proposal(farm_store, "nowhere", FARMER, _content())
    assert _row_count(farm_store) == 0


def test_hostile_text_stored_as_is(farm_store: Store) -> None:
    content = _content(
        title=HOSTILE[0], description=HOSTILE[1], farm_operations=HOSTILE[0]
    )
    submit_proposal(farm_store, AREA, FARMER, content, HOSTILE[1])
    row = list_proposals(farm_store, AREA)[0]
    assert row.title == HOSTILE[0]
    assert row.description == HOSTILE[1]
    assert row.farm_operations == HOSTILE[0]
    assert row.proposed_by == HOSTILE[1]


def test_decision_check_constraint(farm_store: Store) -> None:
    proposal_id = _insert_raw(farm_store)
    with pytest.raises(IntegrityError), farm_store.write() as session:
        row = session.get(MeasureProposal, proposal_id)
        row.status = "accepted"
        row.decided_by = "anna"
        row.decided_at = utc_now()
        row.measure_id = "p_no_rationale"
        row.measure = {"id": "p_no_rationale"}
    assert list_proposals(farm_store, AREA)[0].status == "proposed"


# --- Migration -------------------------------------------------------------------


def test_migration_upgrade_and_downgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'migrate.sqlite'}"
    engine = create_store_engine(url)
    try:
        with open_store(url):
            pass
        assert "measure_proposals" in inspect(engine).get_table_names()
        with engine.connect() as connection:
            differences = compare_metadata(
                MigrationContext.configure(connection), Base.metadata
            )
        assert differences == []

        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "0002")
        tables = inspect(engine).get_table_names()
        assert "measure_proposals" not in tables
        assert "users" in tables

        with open_store(url):
            pass
        assert "measure_proposals" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


# --- Page ------------------------------------------------------------------------

TIMEOUT_S = 180


def _app() -> AppTest:
    return AppTest.from_file(str(MAIN), default_timeout=TIMEOUT_S)


def _log_in(at: AppTest, username: str, password: str) -> AppTest:
    at.sidebar.text_input(key="login_username").set_value(username)
    at.sidebar.text_input(key="login_password").set_value(password)
    next(b for b in at.sidebar.button if b.label == "Inloggen").click()
    return at.run()


def _proposals_page(username: str | None, password: str | None) -> AppTest:
    at = _app().run()
    if username is not None:
        at = _log_in(at, username, password)
    at.switch_page("views/proposals.py").run()
    assert not at.exception
    return at


def _markdown_values(at: AppTest) -> list[str]:
    """Return every text that Streamlit renders as Markdown."""
    values = [element.value for element in at.markdown]
    values += [element.value for element in at.caption]
    values += [element.value for element in at.success]
    values += [element.value for element in at.error]
    values += [element.label for element in at.expander]
    return values


@pytest.mark.slow
def test_page_asks_public_to_log_in(app_env: Store) -> None:
    at = _proposals_page(None, None)
    assert at.title[0].value == "Maatregelen voorstellen"
    assert "Log in (links)" in at.info[0].value
    assert not [b for b in at.button if b.label == "Voorstel indienen"]


@pytest.mark.slow
def test_page_submit_escapes_hostile_text(app_env: Store) -> None:
    at = _proposals_page("boer.a", PASSWORD_A)
    at.text_input(key="proposal_display_name").set_value(HOSTILE[1])
    at.text_input(key="proposal_title").set_value(HOSTILE[0])
    at.text_area(key="proposal_description").set_value(HOSTILE[1])
    at.text_area(key="proposal_farm_operations").set_value(HOSTILE[0])
    at.checkbox(key="effect_nh3_emission_change_include").check()
    at.number_input(key="effect_nh3_emission_change_low").set_value(-1.0)
    at.number_input(key="effect_nh3_emission_change_mid").set_value(-2.0)
    at.number_input(key="effect_nh3_emission_change_high").set_value(-3.0)
    at.text_input(key="effect_nh3_emission_change_source").set_value(HOSTILE[1])
    at.number_input(key="annual_cost_mid").set_value(10.0)
    at.number_input(key="annual_cost_high").set_value(20.0)
    next(b for b in at.button if b.label == "Voorstel indienen").click()
    at.run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    assert "Voorstel 1 is bewaard." in [s.value for s in at.success]

    row = list_proposals(app_env, AREA)[0]
    assert row.title == HOSTILE[0]
    assert row.description == HOSTILE[1]
    assert row.proposed_by == HOSTILE[1]

    texts = [element.value for element in at.text]
    assert HOSTILE[1] in texts
    assert HOSTILE[0] in texts
    for value in _markdown_values(at):
        assert not re.search(r"(?<!\\)<(script|img)", value), value
    assert any(r"\<script\>alert\(1\)\</script\>" in v for v in _markdown_values(at))
    # A farmer gets the list but no decision controls.
    assert not [b for b in at.button if b.label == "Opnemen in de bibliotheek"]


@pytest.mark.slow
def test_page_coordinator_accepts_and_scenarios_offer_it(
    app_env: Store, pilot_paths: ProjectPaths
) -> None:
    proposal = submit_proposal(app_env, AREA, FARMER, _content())
    at = _proposals_page("anna", PASSWORD_COORDINATOR)
    suggested = at.text_input(key=f"measure_id_{proposal.id}").value
    assert suggested == "proposal_emissiearm_uitrijden_op"
    at.text_input(key=f"measure_id_{proposal.id}").set_value("proposal_uitrijden")
    at.text_area(key=f"rationale_{proposal.id}").set_value("Afgesproken")
    next(b for b in at.button if b.label == "Opnemen in de bibliotheek").click()
    at.run()
    assert not at.exception
    assert "Voorstel 1 is opgenomen als maatregel proposal_uitrijden." in [
        s.value for s in at.success
    ]
    row = list_proposals(app_env, AREA)[0]
    assert row.status == "accepted"
    assert row.decided_by == "anna"
    assert not [b for b in at.button if b.label == "Opnemen in de bibliotheek"]

    at.switch_page("views/scenarios.py").run()
    assert not at.exception
    options = at.selectbox[0].options
    assert any("(voorstel uit het gebied)" in option for option in options)
    assert "Emissiearm uitrijden op aardappelpercelen" in page_text(at)


@pytest.mark.slow
def test_page_farmer_cannot_decide(app_env: Store) -> None:
    submit_proposal(app_env, AREA, FARMER, _content())
    at = _proposals_page("boer.a", PASSWORD_A)
    assert at.expander, "the proposal is listed"
    assert not [b for b in at.button if b.label == "Afwijzen"]
    assert not [b for b in at.button if b.label == "Opnemen in de bibliotheek"]


@pytest.mark.slow
def test_page_decision_errors_in_dutch(app_env: Store) -> None:
    proposal = submit_proposal(app_env, AREA, FARMER, _content())
    at = _proposals_page("anna", PASSWORD_COORDINATOR)
    at.text_input(key=f"measure_id_{proposal.id}").set_value("../evil")
    next(b for b in at.button if b.label == "Opnemen in de bibliotheek").click()
    at.run()
    assert not at.exception
    # The page escapes Markdown in the texts, because the id is user input.
    errors = [e.value.replace("\\", "") for e in at.error]
    assert "Geef een motivering voor het besluit." in errors
    assert any("Maatregel-id '../evil' is ongeldig" in e for e in errors), errors
    for error in errors:
        assert "required" not in error
        assert "invalid" not in error
    assert list_proposals(app_env, AREA)[0].status == "proposed"


@pytest.mark.slow
def test_page_shows_words_and_units(app_env: Store) -> None:
    submit_proposal(app_env, AREA, FARMER, _content())
    at = _proposals_page("boer.a", PASSWORD_A)
    texts = [element.value for element in at.text]
    assert "Waar: gewasgroep aardappelen" in texts, texts
    assert not [text for text in texts if "crop_group in" in text]
    cost = at.number_input(key="annual_cost_mid")
    assert cost.proto.format == "%.0f"
    assert cost.step == 1.0
    labels = [box.label for box in at.checkbox]
    assert not [label for label in labels if "per ha)" in label]
    assert any("verandering van de perceelwaarde, in µg/m³" in x for x in labels)
