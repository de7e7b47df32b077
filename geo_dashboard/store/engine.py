"""Connection to the dashboard store: URL, engine, migrations and transactions.

The store is a SQLite file ``<builds>/dashboard.sqlite`` unless the
environment variable ``GEO_DASHBOARD_DB`` gives an SQLAlchemy URL, such as
``postgresql+psycopg://user@localhost:5432/dashboard``. Opening a store
upgrades its schema to the newest Alembic revision shipped in
``geo_dashboard/store/migrations``.

SQLite runs in WAL mode with a busy timeout, and every write transaction
starts with ``BEGIN IMMEDIATE``: concurrent writers then wait for each other
instead of failing on a lock upgrade halfway through. On PostgreSQL the
repository functions lock the area row (``SELECT ... FOR UPDATE``) first.

:func:`open_store` shares one engine per URL within a process, so its pooled
connections and compiled-statement cache outlive each store. A forked child
gets fresh connection pools and never touches its parent's connections.
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.pool import Pool

from geo_dashboard.paths import ProjectPaths
from geo_dashboard.store.errors import StoreError

logger = logging.getLogger(__name__)

DB_ENV = "GEO_DASHBOARD_DB"
SQLITE_FILE = "dashboard.sqlite"
# How long a SQLite writer waits for another writer's lock, in seconds.
SQLITE_BUSY_TIMEOUT_S = 30
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Key of the PostgreSQL advisory lock that serialises schema upgrades.
_MIGRATION_LOCK_KEY = 7_305_118_001
_WRITE_OPTION = "geo_dashboard_write"
# Number of database URLs whose engines open_store keeps; the least recently
# opened one is disposed beyond this.
MAX_SHARED_ENGINES = 8


def store_url(paths: ProjectPaths | None = None) -> str:
    """Return the store URL: ``GEO_DASHBOARD_DB`` or the SQLite file of ``paths``.

    Parameters
    ----------
    paths
        Project folders; the SQLite default is ``paths.builds/dashboard.sqlite``.
        Read from the environment when None.
    """
    url = os.environ.get(DB_ENV, "").strip()
    if url:
        return url
    paths = paths or ProjectPaths.from_env()
    return f"sqlite:///{Path(paths.builds).resolve() / SQLITE_FILE}"


def _normalise_url(url: str) -> str:
    # Plain "postgresql://" would select psycopg2, which is not a dependency.
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def create_store_engine(url: str) -> Engine:
    """Create an engine for ``url`` with the store's SQLite settings.

    Raises
    ------
    StoreError
        If ``url`` is not a valid SQLAlchemy URL or names an unknown driver.
    """
    url = _normalise_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError as err:
        raise StoreError(
            f"store URL in {DB_ENV} is invalid: {err}. Use a form such as "
            "sqlite:////path/dashboard.sqlite or "
            "postgresql+psycopg://user@localhost:5432/dashboard"
        ) from err

    if parsed.get_backend_name() != "sqlite":
        try:
            return create_engine(parsed, pool_pre_ping=True)
        except Exception as err:  # noqa: BLE001 - unknown dialects raise many types
            raise StoreError(
                f"cannot create a store engine for {parsed!r}: {err}"
            ) from err

    database = parsed.database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # The pool hands a connection to one thread at a time, so the app's script
    # threads may share connections.
    engine = create_engine(
        parsed,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
    )
    event.listen(engine, "connect", _configure_sqlite)
    event.listen(engine, "begin", _begin_sqlite)
    return engine


def _configure_sqlite(dbapi_connection: Any, connection_record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN instead of the sqlite3 module.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_S * 1000}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _begin_sqlite(connection: Connection) -> None:
    if connection.get_execution_options().get(_WRITE_OPTION):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.exec_driver_sql("BEGIN")


@dataclass
class _SharedEngine:
    engine: Engine
    # (st_dev, st_ino) of the SQLite file after its schema check; None before
    # that and for other databases.
    file_id: tuple[int, int] | None = None


_shared_engines: OrderedDict[str, _SharedEngine] = OrderedDict()
_shared_lock = threading.Lock()
_shared_pid = os.getpid()
# Connection pools inherited over fork. The child keeps them referenced and
# never closes them, because closing a connection would act on the parent's
# socket or SQLite file locks.
_inherited_pools: list[Pool] = []


def _is_memory_database(url: str) -> bool:
    try:
        parsed = make_url(url)
    except ArgumentError:
        return False
    return parsed.get_backend_name() == "sqlite" and parsed.database in (
        None,
        "",
        ":memory:",
    )


def _sqlite_file_id(engine: Engine) -> tuple[int, int] | None:
    if engine.dialect.name != "sqlite" or not engine.url.database:
        return None
    try:
        status = os.stat(engine.url.database)
    except OSError:
        return None
    return (status.st_dev, status.st_ino)


def shared_engine(url: str) -> Engine:
    """Return the process's engine for ``url``, creating it on first use.

    An in-memory SQLite URL gets a new engine on each call, because a shared
    one would keep one database alive for every caller. A SQLite file that was
    deleted or replaced since the engine connected gets a new engine too.

    Raises
    ------
    StoreError
        If ``url`` is not a valid SQLAlchemy URL or names an unknown driver.
    """
    if os.getpid() != _shared_pid:
        # A fork that bypassed os.register_at_fork, e.g. from C code.
        _renew_pools_after_fork()
    key = _normalise_url(url)
    with _shared_lock:
        entry = _shared_engines.get(key)
        if entry is not None and entry.file_id is not None:
            if _sqlite_file_id(entry.engine) != entry.file_id:
                logger.info("store file %s was replaced; reconnecting", key)
                del _shared_engines[key]
                entry.engine.dispose()
                entry = None
        if entry is None:
            entry = _SharedEngine(create_store_engine(key))
            _shared_engines[key] = entry
        _shared_engines.move_to_end(key)
        while len(_shared_engines) > MAX_SHARED_ENGINES:
            _, evicted = _shared_engines.popitem(last=False)
            # Stores still using the evicted engine get a new pool on demand.
            evicted.engine.dispose()
        return entry.engine


def _mark_schema_checked(engine: Engine) -> None:
    with _shared_lock:
        for entry in _shared_engines.values():
            if entry.engine is engine:
                entry.file_id = _sqlite_file_id(engine)


def _forget_engine(engine: Engine) -> None:
    with _shared_lock:
        for key, entry in list(_shared_engines.items()):
            if entry.engine is engine:
                del _shared_engines[key]
    engine.dispose()


def dispose_engines() -> None:
    """Close the pooled connections of every engine that open_store shares.

    The engines stay usable and reconnect on their next use. Runs at exit, so
    that SQLite checkpoints its write-ahead log into the database file.
    """
    with _shared_lock:
        engines = [entry.engine for entry in _shared_engines.values()]
        _shared_engines.clear()
    for engine in engines:
        engine.dispose()


def _renew_pools_after_fork() -> None:
    # Runs in a forked child. The copied lock may have been held by another
    # thread of the parent at fork time, so the child gets a new one.
    global _shared_lock, _shared_pid
    _shared_lock = threading.Lock()
    _shared_pid = os.getpid()
    for entry in _shared_engines.values():
        _inherited_pools.append(entry.engine.pool)
        entry.engine.dispose(close=False)


os.register_at_fork(after_in_child=_renew_pools_after_fork)
atexit.register(dispose_engines)


class Store:
    """An open dashboard store.

    Use :meth:`write` for every change, so that it runs in one transaction,
    and :meth:`read` for queries. Close the store with :meth:`close` or use
    it as a context manager.
    """

    def __init__(self, engine: Engine, owns_engine: bool = True) -> None:
        self.engine = engine
        self._owns_engine = owns_engine
        self._write_engine = engine.execution_options(**{_WRITE_OPTION: True})

    @property
    def dialect(self) -> str:
        """Name of the database dialect, e.g. ``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Session]:
        """Yield a session in a write transaction, committed on success.

        Any exception rolls the whole transaction back and is re-raised.
        """
        with Session(self._write_engine, expire_on_commit=False) as session:
            with session.begin():
                yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """Yield a session for queries, in a transaction of its own."""
        with Session(self.engine, expire_on_commit=False) as session:
            with session.begin():
                yield session

    def close(self) -> None:
        """Release the store's connections.

        An engine shared by :func:`open_store` keeps its pooled connections
        for the next store of the same URL; :func:`dispose_engines` closes them.
        """
        if self._owns_engine:
            self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_store(url: str | None = None, paths: ProjectPaths | None = None) -> Store:
    """Open the store at ``url`` and upgrade its schema to the newest revision.

    Stores of one URL share an engine (see :func:`shared_engine`), and each
    open checks the schema revision again, so a database that another process
    downgraded or replaced is upgraded here.

    Parameters
    ----------
    url
        SQLAlchemy URL; by default :func:`store_url` of ``paths``.
    paths
        Project folders, used when ``url`` is None.

    Raises
    ------
    StoreError
        If the database cannot be reached or upgraded.
    """
    url = url or store_url(paths)
    shared = not _is_memory_database(url)
    engine = shared_engine(url) if shared else create_store_engine(url)
    try:
        upgrade_schema(engine)
    except OperationalError as err:
        _forget_engine(engine)
        raise StoreError(
            f"cannot open the dashboard store at "
            f"{engine.url.render_as_string(hide_password=True)}: {err.orig}. "
            f"Check that the database exists and is reachable, or unset {DB_ENV} "
            "to use the SQLite file beside the build output."
        ) from err
    except BaseException:
        _forget_engine(engine)
        raise
    if shared:
        _mark_schema_checked(engine)
    return Store(engine, owns_engine=not shared)


def alembic_config(connection: Connection | None = None) -> Config:
    """Return an Alembic config for the packaged migrations.

    Parameters
    ----------
    connection
        Connection the migrations run on, passed to ``env.py``.
    """
    config = Config()
    # ConfigParser treats "%" as interpolation, so it is doubled.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def head_revision() -> str:
    """Return the newest migration revision shipped with the package.

    Loading the migration scripts takes milliseconds, and they do not change
    while the process runs, so the result is cached.
    """
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise StoreError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def current_revision(engine: Engine) -> str | None:
    """Return the schema revision of the database, None for an empty one."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_schema(engine: Engine, revision: str = "head") -> None:
    """Run the Alembic migrations up to ``revision`` in one transaction."""
    target = head_revision() if revision == "head" else revision
    if current_revision(engine) == target:
        return

    write_engine = engine.execution_options(**{_WRITE_OPTION: True})
    with write_engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
            )
        logger.info("upgrading the dashboard store schema to %s", target)
        command.upgrade(alembic_config(connection), revision)
