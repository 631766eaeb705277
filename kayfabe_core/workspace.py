"""The workspace: one folder holding a SQLite database and the files a user makes.

Layout::

    <root>/kayfabe.sqlite   posts, images, responses, labels, codes, runs, jobs
    <root>/images/          image bytes, named <sha256>.<ext>
    <root>/runs/<run_id>/   models and run records

Every write goes through :func:`transaction`, which commits all or nothing and
bumps a data version that UI caches key on.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from kayfabe_core.errors import WorkspaceError
from kayfabe_core.schema import MIGRATIONS, SCHEMA_VERSION, Step

ENV_VAR = "KAYFABE_WORKSPACE"
DB_NAME = "kayfabe.sqlite"
# Pages of 16 KiB rather than SQLite's 4 KiB: a bulk import writes and checkpoints a quarter as many pages
# (measured below, in the README's Speed section). Only a new workspace gets them; an older one keeps its own.
PAGE_SIZE = 16384
BUSY_TIMEOUT_S = 30  # how long a write waits for another one to finish before giving up
BACK_TO_LOG_WAIT_MS = 1000  # how long the end of a write through a rollback journal waits to go back to the log
# what a workspace keeps at its top, the database with SQLite's companion files first
WORKSPACE_PARTS = (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", f"{DB_NAME}-journal", "images", "runs", "cache")


@dataclass(frozen=True)
class Workspace:
    """An open workspace folder. Create with :func:`open_workspace`."""

    root: Path

    @property
    def db_path(self) -> Path:
        return self.root / DB_NAME

    @property
    def images_dir(self) -> Path:
        return self.root / "images"

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    def image_path(self, sha256: str, ext: str) -> Path:
        """Return where the bytes of the image with this hash are stored."""
        return self.images_dir / f"{sha256}.{ext}"


def database_identity(workspace: Workspace) -> tuple[str, int, int]:
    """Return what tells the workspace's database file apart from another put in its place (a workspace made
    again in the same folder): its real path, device and inode. What a process keeps of it is keyed on this."""
    stat = os.stat(workspace.db_path)
    return os.path.realpath(workspace.db_path), stat.st_dev, stat.st_ino


def default_workspace_path() -> Path:
    """Return the folder named by $KAYFABE_WORKSPACE, else ``./workspace``."""
    return Path(os.environ.get(ENV_VAR) or "workspace").expanduser()


def folder_kind(path: str | Path) -> str:
    """Say what is at ``path`` before opening it as a workspace: "workspace" (it holds one), "new" (nothing
    there, or an empty folder), "other" (a folder holding other files), "file", or "unreadable" (this computer
    may not look there, or the name cannot be a path here: ``~nosuchuser/x``, a NUL)."""
    try:
        root = Path(path).expanduser()
        if not root.exists():
            return "new"
        if not root.is_dir():
            return "file"
        if (root / DB_NAME).exists():
            return "workspace"
        return "other" if any(root.iterdir()) else "new"
    except (OSError, RuntimeError, ValueError):  # no permission; an unknown user's ~; a name the system refuses
        return "unreadable"


def remove_new_workspace(path: str | Path, keep_folder: bool = False, kept_parts: frozenset[str] = frozenset()) -> None:
    """Undo making a workspace at ``path`` where there was none (see :func:`folder_kind`): its
    :data:`WORKSPACE_PARTS` go, but those in ``kept_parts`` (there before: a user's own images/ folder), and the
    folder too (unless ``keep_folder``: it was there before) when left empty."""
    root = Path(path).expanduser()
    for name in WORKSPACE_PARTS:
        if name in kept_parts:
            continue
        part = root / name
        if part.is_dir():
            shutil.rmtree(part, ignore_errors=True)
        else:
            part.unlink(missing_ok=True)
    if not keep_folder and root.is_dir() and not any(root.iterdir()):
        root.rmdir()


@contextmanager
def made_for_this(path: str | Path) -> Iterator[Workspace]:
    """Open the workspace at ``path``, making it when there is none; when this made it and the block raises (a bad
    file, a table too small to split, Ctrl-C) before anything was stored in it, remove it again: a failed command
    leaves no empty workspace, and never loses what it stored (a saved run, the record of a SageMaker job).

    Raises :class:`WorkspaceError` when the path cannot be looked at (no permission, ``~nosuchuser/x``), or lies
    inside another workspace (``WS/images`` typed for ``WS``).
    """
    kind = folder_kind(path)
    if kind == "unreadable":
        raise WorkspaceError(f"The workspace folder {path} cannot be used: this computer may not look there, or the "
                             "name is not a folder name here.", "Choose a folder in your home folder, e.g. ~/study.")
    root = Path(path).expanduser()
    holder = next((folder for folder in root.resolve().parents if (folder / DB_NAME).is_file()), None)
    if kind != "workspace" and holder is not None:  # a typo such as WS/images for WS
        raise WorkspaceError(f"{path} is inside the workspace {holder}: a new workspace there would mix with it.",
                             f"Give the workspace itself ({holder}), or a folder outside it.")
    folder_was_there = root.exists()
    there_before = frozenset(name for name in WORKSPACE_PARTS if (root / name).exists())
    workspace = open_workspace(path)
    written_before = _written(workspace)
    try:
        yield workspace
    except BaseException:
        # made here (a folder of the user's files, "other", too), and every write moves one of the two counters
        if kind in ("new", "other") and _written(workspace) == written_before:
            remove_new_workspace(path, keep_folder=folder_was_there, kept_parts=there_before)
        raise


def _written(workspace: Workspace) -> tuple[int, int]:
    """Return the counters every committed write moves (data, results): equal before and after, nothing stored."""
    return read_data_version(workspace), read_data_version(workspace, RESULTS_VERSION)


def open_workspace(path: str | Path, create: bool = True) -> Workspace:
    """Open (and with ``create``, make) the workspace at ``path``, upgrading its schema.

    Returns the :class:`Workspace`. Raises :class:`WorkspaceError` when the path is
    a file, cannot be created, is not a workspace (and ``create`` is false), or
    was made by a newer version of the app.
    """
    root = Path(path).expanduser().resolve()
    if root.exists() and not root.is_dir():
        raise WorkspaceError(
            f"The workspace must be a folder, but {root} is a file.",
            "Choose a folder name that does not exist yet, or an existing workspace folder.",
        )
    if not create and not (root / DB_NAME).exists():
        raise WorkspaceError(
            f"No workspace found in {root} (there is no {DB_NAME} there).",
            "Check the path, or create the workspace first (e.g. python -m kayfabe_core demo PATH).",
        )
    try:
        for folder in (root, root / "images", root / "runs"):
            folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _cannot_create(root, exc) from exc
    workspace = Workspace(root)
    _migrate(workspace)
    return workspace


def _cannot_create(root: Path, exc: OSError) -> WorkspaceError:
    """Say which existing folder refused the new one: the system's own reason alone can mislead (making a
    folder inside /proc/1 fails with 'No such file or directory', though /proc/1 exists)."""
    nearest = next((folder for folder in (root, *root.parents) if folder.exists()), root)
    why = (f"{nearest} is a file, so no folder can be made inside it" if not nearest.is_dir() else
           f"{nearest} does not let this app make folders in it (the system said: {exc.strerror})")
    return WorkspaceError(f"Could not create the workspace folder {root}: {why}.",
                          "Choose a folder you are allowed to write to, such as one in your home folder.")


def open_connection(workspace: Workspace) -> sqlite3.Connection:
    """Return a new connection with the workspace's settings (WAL, foreign keys, rows by name).

    The caller closes it and manages transactions; prefer :func:`connect` and :func:`transaction`.
    Raises :class:`WorkspaceError` when the file is not a workspace database, or SQLite cannot use it now (a
    folder it may not write in, a full disk, a disk I/O error, a workspace busy for longer than the busy
    timeout).
    """
    conn: sqlite3.Connection | None = None
    try:
        conn = sqlite3.connect(workspace.db_path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        conn.execute(f"PRAGMA page_size={PAGE_SIZE}")  # takes effect only when the file is made (the next line)
        _use_write_ahead_log(conn)
    except sqlite3.DatabaseError as exc:
        if conn is not None:
            conn.close()
        problem = str(exc)  # SQLite cannot open the file itself: a folder it may not write in (a read-only one)
        cannot_open = _read_only(problem, workspace) if "unable to open database file" in problem else None
        raise cannot_open or _in_words(problem, workspace, UNCHANGED) or WorkspaceError(  # full, busy, another file
            f"The file {workspace.db_path} is not a workspace database ({exc}).",
            "Choose another folder for the workspace; this one holds a different file.",
        ) from exc
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.row_factory = sqlite3.Row
    return conn


def needs_upgrade(path: str | Path) -> bool:
    """Return whether the workspace at ``path`` was made by an older version of the app (opening it converts it,
    which takes about a minute at a million posts). False when there is no workspace database there."""
    db_path = Path(path).expanduser().resolve() / DB_NAME
    if not db_path.is_file():
        return False
    try:
        with closing(sqlite3.connect(f"{db_path.as_uri()}?mode=ro", uri=True)) as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0]) < SCHEMA_VERSION
    except sqlite3.Error:
        return False  # not a workspace database: opening it says so


def _migrate(workspace: Workspace) -> None:
    conn = open_connection(workspace)
    try:
        with sqlite_in_words(workspace):  # the first read: a disk too full for SQLite's shared-memory file fails here
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise WorkspaceError(
                f"This workspace was made by a newer version of the app "
                f"(schema {version}; this app knows up to {SCHEMA_VERSION}).",
                "Update the app (git pull, then the set-up command) before opening it.",
            )
        for number in range(version, SCHEMA_VERSION):  # each step whole or not at all
            outcome = UNCHANGED if number == version else (
                f"this step of the upgrade was not written; the steps before it are kept (the workspace is at "
                f"schema {number} of {SCHEMA_VERSION}), and opening it again finishes the upgrade")
            with sqlite_in_words(workspace, outcome):  # a step that fails is rolled back by close()
                conn.execute("BEGIN IMMEDIATE")
                _run_migration(conn, MIGRATIONS[number])
                conn.execute(f"PRAGMA user_version = {number + 1}")
                bump_versions(conn)
                conn.execute("COMMIT")
    finally:
        conn.close()


def _run_migration(conn: sqlite3.Connection, migration: str | tuple[Step, ...]) -> None:
    for step in (migration,) if isinstance(migration, str) else migration:
        if isinstance(step, str):
            for statement in _split_sql(step):
                conn.execute(statement)
        else:
            step(conn)


def _split_sql(script: str) -> list[str]:
    """Split a migration script into single statements (no ';' inside strings)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]


@contextmanager
def connect(workspace: Workspace) -> Iterator[sqlite3.Connection]:
    """Yield a read connection to the workspace database; closes it afterwards. SQLite's errors that users can
    act on (a damaged file, a disk I/O error) come out of the block in words (:func:`sqlite_in_words`)."""
    conn = open_connection(workspace)
    try:
        with sqlite_in_words(workspace):
            yield conn
    finally:
        conn.close()


DATA_VERSION = "data_version"  # grows with every write to what features are made of (posts, images, labels, codes)
INPUTS_VERSION = "inputs_version"  # grows with those writes too, except writes of codes only (see transaction)
RESULTS_VERSION = "results_version"  # grows with every write to what was made from them (runs, tunings, jobs)


@contextmanager
def transaction(workspace: Workspace, counter: str = DATA_VERSION, codes_only: bool = False,
                alone: bool = False) -> Iterator[sqlite3.Connection]:
    """Yield a connection inside one write transaction.

    Commits when the block ends normally and, when a row changed, bumps ``counter`` (the
    data version, or :data:`RESULTS_VERSION` for runs, tunings and jobs, so saving a
    run leaves cached features valid); rolls back everything written in the
    block when it raises, so nothing is half-written. A data write also bumps
    :data:`INPUTS_VERSION` unless the caller promises ``codes_only`` (it writes
    hand codes or the coding's own settings: codebook, double-coding share, images
    sent to coding; never posts, images or labels), so what features are made of
    besides the codes stays cached while someone codes.

    ``alone``, for a large import: when nothing else has the workspace open, the
    block writes through a rollback journal rather than the write-ahead log
    (:func:`use_rollback_journal`), and the workspace goes back to the log after it.
    """
    counters = (counter,) if counter != DATA_VERSION or codes_only else (DATA_VERSION, INPUTS_VERSION)
    conn = open_connection(workspace)
    journal = False
    try:
        with sqlite_in_words(workspace):
            journal = alone and use_rollback_journal(conn)
            conn.execute("BEGIN IMMEDIATE")
            changes_before = conn.total_changes
            try:
                yield conn
                if conn.total_changes != changes_before:  # nothing changed (no row matched): caches stay valid
                    bump_versions(conn, counters)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # SQLite may have rolled back already (a full disk, say)
                    conn.execute("ROLLBACK")
                raise
    finally:
        if journal:
            back_to_write_ahead_log(conn)
        conn.close()


def _use_write_ahead_log(conn: sqlite3.Connection) -> None:
    """Put the workspace in write-ahead-log mode (kept in the file: usually there is nothing to do).

    A large import that had the workspace to itself writes through a rollback journal and holds the write
    lock (:func:`use_rollback_journal`), so the switch cannot be made now: this connection then reads through
    the rollback journal, as soon as the import's lock lets it. Its first read waits for that as a write waits, up
    to the busy timeout, and raises "database is locked" after it, as for a workspace another program locks.
    The switch itself waits less: a connection still reading through the journal holds it off, for as long
    as that read lasts.
    """
    busy_ms = int(BUSY_TIMEOUT_S * 1000)
    conn.execute(f"PRAGMA busy_timeout={min(BACK_TO_LOG_WAIT_MS, busy_ms)}")
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        switched = True
    except sqlite3.OperationalError as exc:
        if "database is locked" not in str(exc):
            raise
        switched = False
    conn.execute(f"PRAGMA busy_timeout={busy_ms}")
    if not switched:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()


def use_rollback_journal(conn: sqlite3.Connection) -> bool:
    """Switch the workspace to a rollback journal if no other connection has it open; return whether it was.

    The write-ahead log writes every page twice: into the log, then into the database when the log is
    checkpointed. A rollback journal keeps only the old content of pages that change, so the new rows of an
    import are written once. A million posts' CSV import took 14-17 s this way instead of 20-23 s, on a
    machine whose new file pages were slow to write (README, Speed). The price: from the moment the import's
    pages spill out of its page cache until it commits, other connections cannot read (they wait, up to the
    busy timeout). So only a large import asks for it, and only when nothing else has the workspace open now.
    """
    try:  # SQLite refuses at once, without waiting, when another connection has the workspace open
        return str(conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0]) == "delete"
    except sqlite3.OperationalError as exc:
        if "database is locked" not in str(exc):
            raise
        return False


def back_to_write_ahead_log(conn: sqlite3.Connection) -> None:
    """Put the workspace back in write-ahead-log mode after a write through a rollback journal. A connection
    opened meanwhile and still reading keeps it from switching for now: the next connection to open switches
    (:func:`_use_write_ahead_log`)."""
    with suppress(sqlite3.Error):
        conn.execute(f"PRAGMA busy_timeout={BACK_TO_LOG_WAIT_MS}")  # not the 30 s a write waits
        conn.execute("PRAGMA journal_mode=WAL")


UNCHANGED = "nothing was written: the workspace is as it was before"


@contextmanager
def sqlite_in_words(workspace: Workspace, outcome: str = UNCHANGED) -> Iterator[None]:
    """Turn SQLite's "disk is full", "disk I/O error", "database is locked" (a write waited longer than the
    busy timeout), "readonly database" and "malformed" (a damaged file) into a :class:`WorkspaceError`
    in the user's words, ending with ``outcome``; let every other error through as it is.

    For a block that writes in one transaction, which SQLite (or the block's own code) rolls back, so the
    messages can say that nothing was written (or ``outcome``: what is kept, for a block of several).
    """
    try:
        yield
    except sqlite3.DatabaseError as exc:  # OperationalError, and DatabaseError itself for a damaged file
        error = _in_words(str(exc), workspace, outcome)
        if error is None:
            raise
        raise error from exc


def _in_words(problem: str, workspace: Workspace, outcome: str) -> WorkspaceError | None:
    if "disk is full" in problem:
        return WorkspaceError(
            f"The disk that holds the workspace ran out of space ({problem}), so {outcome}.",
            f"Free some space on the disk that holds {workspace.root}, or move the workspace folder to a "
            "larger disk and open it there, then try again.")
    if "disk I/O error" in problem:
        return WorkspaceError(
            f"The workspace's files could not be read or written ({problem}), so {outcome}.",
            f"Check that the disk that holds {workspace.root} has free space and is still there (a full disk, "
            "or a network or removable drive that went away, gives this), then try again.")
    if "database is locked" in problem:
        return WorkspaceError(
            f"The workspace was busy: something else kept writing to it for more than {BUSY_TIMEOUT_S} "
            f"seconds, so {outcome}.",
            "Wait until the other import, labelling or training (in another window or on the command line) "
            "has finished, then try again.")
    if "readonly database" in problem:
        return _read_only(problem, workspace)
    if "malformed" in problem:
        return WorkspaceError(
            f"The workspace's database is damaged ({problem}): SQLite cannot read part of "
            f"{workspace.db_path}.",
            "Open a copy of the workspace folder saved before, if there is one. Otherwise SQLite's own tool can "
            "often save what is still readable (sqlite3 kayfabe.sqlite .recover > saved.sql), or import the "
            "CSV files, saved labels and codes again into a new workspace.")
    return None


def _read_only(problem: str, workspace: Workspace) -> WorkspaceError:
    return WorkspaceError(
        f"The workspace in {workspace.root} cannot be written to ({problem}): the app keeps all its work in the "
        "workspace, so it needs to write in that folder.",
        "Copy the workspace folder to a place you may write to (your own folder, say) and open the copy, or ask "
        "for write access to this one (a write-protected stick or a read-only shared folder gives this).")


def bump_versions(conn: sqlite3.Connection, counters: tuple[str, ...] = (DATA_VERSION, INPUTS_VERSION)) -> None:
    """Add one to each of ``counters`` inside the open transaction (a data write: the data and inputs versions)."""
    conn.executemany("INSERT INTO meta(key, value) VALUES (?, '1') "
                     "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1", [(c,) for c in counters])


def read_data_version(workspace: Workspace, counter: str = DATA_VERSION) -> int:
    """Return a counter that grows with every committed write of its kind (for cache keys)."""
    with connect(workspace) as conn:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (counter,)).fetchone()
    return int(row[0]) if row else 0


def read_meta(workspace: Workspace, key: str) -> str | None:
    """Return the workspace setting ``key``, or None when it was never set."""
    with connect(workspace) as conn:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def write_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    """Set the workspace setting ``key`` inside an open transaction."""
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))
