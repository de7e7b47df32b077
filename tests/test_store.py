"""The dashboard store on a real SQLite file and, when installed, a real PostgreSQL.

The PostgreSQL tests start a throwaway server from Debian's binaries in a
temporary folder on a free localhost port, and skip with the reason when the
binaries are missing.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import types
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select

from geo_dashboard.output import BuildOutput
from geo_dashboard.paths import ProjectPaths
from geo_dashboard.store import (
    DB_ENV,
    Store,
    StoreError,
    StoreInputError,
    add_reflection,
    kpi_history,
    list_cycles,
    list_gaps,
    list_reflections,
    open_store,
    record_build,
    set_gap,
    set_target,
    start_cycle,
    store_url,
)
from geo_dashboard.store.engine import (
    alembic_config,
    create_store_engine,
    current_revision,
    head_revision,
)
from geo_dashboard.store.models import Base, Reflection, Snapshot, utc_now

PILOT = "noordoostpolder"
NITRATE = "nitrate_risk_arable_share"


# --- A throwaway PostgreSQL server --------------------------------------------


class _PostgresServer:
    """A PostgreSQL server in a temporary folder, on a free localhost port."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.folder = Path(tempfile.mkdtemp(prefix="geo-dashboard-pg-"))
        self.port = _free_port()
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root.
            user = pwd.getpwnam("postgres")
            os.chown(self.folder, user.pw_uid, user.pw_gid)
            self.prefix = ["runuser", "-u", "postgres", "--"]
        data = self.folder / "data"
        self._run(
            "initdb",
            "-D",
            str(data),
            "-U",
            "dashboard",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c fsync=off"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(self.folder / "server.log"),
            "-w",
            "start",
        )
        self.admin_url = (
            f"postgresql+psycopg://dashboard@127.0.0.1:{self.port}/postgres"
        )

    def _run(self, program: str, *args: str) -> None:
        subprocess.run(
            [*self.prefix, str(self.bindir / program), *args],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def new_database(self) -> str:
        """Create an empty database and return its URL."""
        import psycopg

        name = f"store_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=dashboard dbname=postgres",
            autocommit=True,
        ) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://dashboard@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.folder.exists():
            try:
                self._run(
                    "pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "stop"
                )
            finally:
                shutil.rmtree(self.folder, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _postgres_bindir() -> Path | None:
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
    )
    for bindir in reversed(candidates):
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    return None


_SERVER: dict[str, _PostgresServer] = {}


def postgres_server_or_skip() -> _PostgresServer:
    """Return the session's PostgreSQL server, starting it on first use."""
    if "server" not in _SERVER:
        bindir = _postgres_bindir()
        if bindir is None:
            pytest.skip(
                "no PostgreSQL server binaries (initdb, pg_ctl) under "
                "/usr/lib/postgresql; install Debian's postgresql package"
            )
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip(
                    "running as root without a 'postgres' user to run the server"
                )
        server = _PostgresServer(bindir)
        _SERVER["server"] = server
        atexit.register(server.stop)
    return _SERVER["server"]


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty store: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'dashboard.sqlite'}"
    return postgres_server_or_skip().new_database()


@pytest.fixture()
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'dashboard.sqlite'}"


@pytest.fixture()
def store(db_url: str) -> Iterator[Store]:
    with open_store(db_url) as opened:
        yield opened


@pytest.fixture()
def pilot_store(
    db_url: str, store: Store, pilot_paths: ProjectPaths, pilot_build: BuildOutput
) -> Store:
    """A store in which the pilot build has been recorded (cycle v0.1 open)."""
    record_build(pilot_paths, pilot_build, url=db_url)
    return store


# --- Schema and connection ---------------------------------------------------


def test_upgrade_from_empty_matches_models(db_url: str) -> None:
    engine = create_store_engine(db_url)
    try:
        assert current_revision(engine) is None
        with open_store(db_url):
            pass
        assert current_revision(engine) == head_revision()
        with engine.connect() as connection:
            differences = compare_metadata(
                MigrationContext.configure(connection), Base.metadata
            )
        assert differences == []
        assert "kpi_versions" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_downgrade_and_upgrade_again(sqlite_url: str) -> None:
    engine = create_store_engine(sqlite_url)
    with open_store(sqlite_url):
        pass
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    assert "cycles" not in inspect(engine).get_table_names()
    with open_store(sqlite_url):
        pass
    assert "cycles" in inspect(engine).get_table_names()
    engine.dispose()


def test_store_url_default_and_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = ProjectPaths(layers=tmp_path, configs=tmp_path, builds=tmp_path / "b")
    monkeypatch.delenv(DB_ENV, raising=False)
    assert (
        store_url(paths) == f"sqlite:///{(tmp_path / 'b').resolve()}/dashboard.sqlite"
    )
    monkeypatch.setenv(DB_ENV, "postgresql://someone@localhost/dashboard")
    assert store_url(paths) == "postgresql://someone@localhost/dashboard"


def test_invalid_url_raises_store_error() -> None:
    with pytest.raises(StoreError, match="store URL in GEO_DASHBOARD_DB is invalid"):
        open_store("not a url")


def test_unreachable_postgres_names_the_fix() -> None:
    url = f"postgresql://nobody@127.0.0.1:{_free_port()}/missing"
    with pytest.raises(StoreError, match="cannot open the dashboard store"):
        open_store(url)


def test_sqlite_uses_wal(sqlite_url: str) -> None:
    with open_store(sqlite_url) as opened, opened.engine.connect() as connection:
        mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
    assert mode == "wal"


# --- Shared engines -----------------------------------------------------------


def _dbapi_connection(store: Store) -> object:
    with store.engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")
        return connection.connection.dbapi_connection


def test_open_store_reuses_engine_per_url(db_url: str) -> None:
    with open_store(db_url) as first:
        first_connection = _dbapi_connection(first)
    with open_store(db_url) as second:
        second_connection = _dbapi_connection(second)
    assert second.engine is first.engine
    assert second_connection is first_connection


def test_open_store_other_url_other_engine(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'a.sqlite'}") as first:
        with open_store(f"sqlite:///{tmp_path / 'b.sqlite'}") as second:
            assert second.engine is not first.engine
            assert second.engine.url.database == str(tmp_path / "b.sqlite")


def test_open_store_memory_url_not_shared() -> None:
    with open_store("sqlite://") as first, open_store("sqlite://") as second:
        assert second.engine is not first.engine


def test_replaced_sqlite_file_gets_new_engine(sqlite_url: str, tmp_path: Path) -> None:
    with open_store(sqlite_url) as first:
        _dbapi_connection(first)
    for name in ("dashboard.sqlite", "dashboard.sqlite-wal", "dashboard.sqlite-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    with open_store(sqlite_url) as second:
        assert second.engine is not first.engine
        assert "cycles" in inspect(second.engine).get_table_names()
    assert (tmp_path / "dashboard.sqlite").is_file()


def test_forked_child_gets_own_connections(db_url: str, pilot_store: Store) -> None:
    parent_connection = _dbapi_connection(pilot_store)
    parent_pool = pilot_store.engine.pool
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        status = 1
        try:
            os.close(read_end)
            with open_store(db_url) as child_store:
                child_connection = _dbapi_connection(child_store)
                add_reflection(child_store, PILOT, "lesson", "from the child", "kim")
            shared = child_connection is parent_connection
            same_pool = child_store.engine.pool is parent_pool
            os.write(write_end, f"{int(shared)}{int(same_pool)}".encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        report = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the child process failed"
    assert report == "00", "the child reused the parent's connection or pool"
    # The parent's pooled connection still works and reads the child's row.
    with open_store(db_url) as again:
        assert _dbapi_connection(again) is parent_connection
        texts = [row.text for row in list_reflections(again, PILOT)]
    assert texts == ["from the child"]


# --- Recording builds -------------------------------------------------------------


def test_first_build_creates_sketch(
    pilot_store: Store, pilot_build: BuildOutput
) -> None:
    cycles = list_cycles(pilot_store, PILOT)
    assert [(c.number, c.version, c.status) for c in cycles] == [(1, "0.1", "open")]
    assert cycles[0].is_sketch

    with pilot_store.read() as session:
        snapshot = session.scalars(select(Snapshot)).one()
        assert snapshot.kind == "start"
        assert len(snapshot.kpis) == len(pilot_build.kpis)
        shas = {layer.layer_id: layer.sha256 for layer in snapshot.build.layers}
    expected = {
        layer["id"]: layer["sha256"] for layer in pilot_build.manifest["layers"]
    }
    assert shas == expected

    gaps = {entry.subject for entry in list_gaps(pilot_store, PILOT)}
    assert gaps == set(pilot_build.manifest["data_gaps"])
    seeds = kpi_history(pilot_store, PILOT)
    assert {row.change for row in seeds} == {"seed"}
    assert {row.kpi_id for row in seeds} == set(pilot_build.kpis["kpi_id"])


def test_recording_same_build_twice_adds_nothing(
    db_url: str, pilot_store: Store, pilot_paths: ProjectPaths, pilot_build: BuildOutput
) -> None:
    record = record_build(pilot_paths, pilot_build, url=db_url)
    assert record.already_recorded
    assert not record.sketch_created
    assert record.added_kpis == []
    assert len(list_cycles(pilot_store, PILOT)) == 1
    assert len(kpi_history(pilot_store, PILOT)) == len(pilot_build.kpis)


def test_unknown_area_is_reported(store: Store) -> None:
    with pytest.raises(StoreError, match="geo-dashboard build atlantis"):
        start_cycle(store, "atlantis", "spring", "anna")


def test_timestamps_are_utc(pilot_store: Store) -> None:
    cycle = list_cycles(pilot_store, PILOT)[0]
    assert cycle.started_at.utcoffset() is not None
    assert abs((utc_now() - cycle.started_at).total_seconds()) < 300


# --- Transactions ------------------------------------------------------------------


def test_exception_inside_write_rolls_back(pilot_store: Store) -> None:
    with pytest.raises(RuntimeError, match="simulated failure"):
        with pilot_store.write() as session:
            cycle = list_cycles(pilot_store, PILOT)[0]
            session.add(
                Reflection(
                    area_id=PILOT,
                    cycle_id=cycle.id,
                    kind="lesson",
                    text="half written",
                    created_by="anna",
                    created_at=utc_now(),
                )
            )
            session.flush()
            raise RuntimeError("simulated failure")
    assert list_reflections(pilot_store, PILOT) == []


def test_failed_cycle_start_leaves_store_unchanged(
    pilot_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from geo_dashboard.store import cycles as cycles_module

    original = cycles_module.freeze_snapshot
    calls = []

    def freeze_then_fail(*args, **kwargs):
        # The first call freezes the close of cycle 1, and the second call fails.
        calls.append(args[2])
        if len(calls) == 2:
            raise RuntimeError("simulated failure")
        return original(*args, **kwargs)

    monkeypatch.setattr(cycles_module, "freeze_snapshot", freeze_then_fail)
    with pytest.raises(RuntimeError, match="simulated failure"):
        start_cycle(pilot_store, PILOT, "najaar 2026", "anna")
    assert calls == ["close", "start"]

    cycles = list_cycles(pilot_store, PILOT)
    assert [(c.number, c.status) for c in cycles] == [(1, "open")]
    with pilot_store.read() as session:
        kinds = session.scalars(select(Snapshot.kind)).all()
    assert kinds == ["start"]


@pytest.fixture()
def spawn_context(monkeypatch: pytest.MonkeyPatch):
    """A multiprocessing context whose children do not rerun a page script.

    Streamlit's AppTest leaves the last page it ran registered as
    ``__main__``, and a spawned child runs its parent's ``__main__`` file
    again. A bare ``__main__`` module while the children start avoids that.
    """
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    return multiprocessing.get_context("spawn")


def _hold_write_open(url: str, ready) -> None:
    # Child process: start a write, add a row, signal, and wait to be killed.
    with open_store(url) as opened, opened.write() as session:
        cycle = list_cycles(opened, PILOT)[0]
        session.add(
            Reflection(
                area_id=PILOT,
                cycle_id=cycle.id,
                kind="lesson",
                text="never committed",
                created_by="worker",
                created_at=utc_now(),
            )
        )
        session.flush()
        ready.set()
        signal.pause()


def test_killed_writer_leaves_store_unchanged(
    pilot_paths: ProjectPaths,
    pilot_build: BuildOutput,
    sqlite_url: str,
    spawn_context,
) -> None:
    record_build(pilot_paths, pilot_build, url=sqlite_url)
    context = spawn_context
    ready = context.Event()
    child = context.Process(target=_hold_write_open, args=(sqlite_url, ready))
    child.start()
    try:
        assert ready.wait(120), "the writer process did not start its transaction"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.join(30)

    with open_store(sqlite_url) as opened:
        assert list_reflections(opened, PILOT) == []
        # The lock of the killed writer is gone: a new write succeeds.
        add_reflection(opened, PILOT, "lesson", "after the kill", "anna")
        assert len(list_reflections(opened, PILOT)) == 1


# --- Concurrent writers -------------------------------------------------------------

WORKERS = 4
WRITES_PER_WORKER = 8


def _write_many(url: str, worker: int, barrier) -> None:
    with open_store(url) as opened:
        barrier.wait(120)
        for index in range(WRITES_PER_WORKER):
            add_reflection(
                opened,
                PILOT,
                "lesson",
                f"worker {worker} note {index}",
                f"worker {worker}",
            )
            set_target(
                opened,
                PILOT,
                NITRATE,
                value=40 + worker + index / 10,
                year=2030,
                rationale=f"worker {worker} step {index}",
                by=f"worker {worker}",
            )


def test_concurrent_writers_lose_no_record(
    db_url: str, pilot_store: Store, spawn_context
) -> None:
    context = spawn_context
    barrier = context.Barrier(WORKERS)
    workers = [
        context.Process(target=_write_many, args=(db_url, worker, barrier))
        for worker in range(WORKERS)
    ]
    for process in workers:
        process.start()
    for process in workers:
        process.join(300)
    assert [process.exitcode for process in workers] == [0] * WORKERS

    total = WORKERS * WRITES_PER_WORKER
    texts = {row.text for row in list_reflections(pilot_store, PILOT)}
    assert len(texts) == total
    versions = [row.version for row in kpi_history(pilot_store, PILOT, NITRATE)]
    assert versions == list(range(1, total + 2))
    with pilot_store.read() as session:
        count = session.scalar(select(func.count()).select_from(Reflection))
    assert count == total


# --- Data-gap register --------------------------------------------------------------


def test_gap_update_keeps_history(pilot_store: Store) -> None:
    entry = set_gap(
        pilot_store,
        PILOT,
        "layer",
        "nnn",
        by="anna",
        supplier="provincie Flevoland",
        sourcing_cost_eur=2000,
        handling_cost_eur=500,
        status="requested",
    )
    assert entry.version == 2
    assert entry.status == "requested"
    assert entry.total_cost_eur == 2500
    assert entry.missing.startswith("NNN boundaries")


def test_new_kpi_gap_needs_description(pilot_store: Store) -> None:
    with pytest.raises(StoreInputError, match="what is missing is required"):
        set_gap(pilot_store, PILOT, "kpi", "farmland_in_nnn", by="anna")
    entry = set_gap(
        pilot_store,
        PILOT,
        "kpi",
        "farmland_in_nnn",
        by="anna",
        missing="NNN parcels per farm",
    )
    assert entry.subject_kind == "kpi"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"subject": "lakes"}, "input 'lakes' is unknown"),
        ({"status": "done"}, "data-gap status 'done' is invalid"),
        ({"sourcing_cost_eur": -1.0}, "sourcing cost -1.0 is negative"),
        (
            {"handling_cost_eur": float("nan")},
            "handling cost nan is not a finite number",
        ),
    ],
)
def test_gap_rejects_invalid_input(
    pilot_store: Store, kwargs: dict, message: str
) -> None:
    arguments = {"subject": "nnn", "by": "anna"} | kwargs
    subject = arguments.pop("subject")
    with pytest.raises(StoreInputError, match=message):
        set_gap(pilot_store, PILOT, "layer", subject, **arguments)
