"""The write transaction a booking runs in: where "never double-book" is enforced.

- SQLite: the transaction starts with `BEGIN IMMEDIATE`, taking the database's write lock
  before anything is read, so two workers can never both check and then both insert. (A
  deferred BEGIN would fail at once with "database is locked" when it tries to upgrade.)
  The busy timeout makes the second writer wait its turn instead of failing.
- PostgreSQL (READ COMMITTED): the space's row is locked with `SELECT ... FOR UPDATE` before
  the check (`lock_space`), so bookings of one space are checked one after another while
  other spaces book in parallel. The exclusion constraint on whole-space bookings is a second
  guard; its violation becomes a 409. Deadlocks and serialization failures are retried.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

try:
    import fcntl
except ImportError:  # not on POSIX: threads still take turns
    fcntl = None

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from app.database import dialect_name
from app.errors import Conflict, DomainError
from app.extensions import db
from app.venues.models import Space

T = TypeVar("T")
ATTEMPTS = 5
RETRY_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock
EXCLUSION_VIOLATION = "23P01"
BUSY_WAIT = 10.0  # seconds a writer waits for its turn before answering 503, as SQLite's busy timeout


class Unavailable(DomainError):
    status = 503
    title = "Service Unavailable"


def _sqlstate(exc: DBAPIError) -> str | None:
    return getattr(exc.orig, "sqlstate", None)


def _retryable(exc: DBAPIError) -> bool:
    if _sqlstate(exc) in RETRY_SQLSTATES:
        return True
    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)


def lock_space(space_id: int) -> bool:
    """Serialise writes to one space's bookings (PostgreSQL); SQLite already holds its write
    lock. True when a row lock was taken: what was read before it may be older than the lock,
    and a check must read it again."""
    if dialect_name() != "postgresql":
        return False
    db.session.execute(sa.select(Space.id).where(Space.id == space_id).with_for_update())
    return True


def begin_reading() -> None:
    """Begin the session's transaction as a reader: on SQLite a deferred BEGIN, which takes no
    write lock, even in a POST request (whose transactions otherwise begin IMMEDIATE).

    Only for a request whose every write goes through `run_write` (which ends this transaction
    and takes the lock itself): a write in a deferred transaction fails at once with "database is
    locked" when another writer is busy. A no-op when a transaction is already open, and on
    PostgreSQL.
    """
    session = db.session()
    if session.in_transaction() or dialect_name() != "sqlite":
        return
    session.connection(execution_options={"sqlite_begin": "DEFERRED"})


def write_pending_now() -> None:
    """Commit the session's pending changes now, in a write transaction of their own, and begin
    reading again: for a reader (`begin_reading`) that found something small it must write (the
    API token's last use). On SQLite the deferred transaction is rolled back and the changes are
    made again under BEGIN IMMEDIATE, which waits for the lock instead of failing.
    """
    session = db.session()
    if not (session.new or session.dirty or session.deleted):
        return
    if dialect_name() != "sqlite":
        session.commit()
        return
    if session.new or session.deleted:
        raise RuntimeError("write_pending_now only carries changed attributes over")
    changes = []
    for obj in session.dirty:
        state = sa.inspect(obj)
        values = {attr.key: attr.value for attr in state.attrs if attr.history.has_changes()}
        if values:
            changes.append((type(obj), state.identity, values))
    session.rollback()
    with writer_turn():
        session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
        try:
            for model, identity, values in changes:
                obj = session.get(model, identity)
                if obj is not None:
                    for key, value in values.items():
                        setattr(obj, key, value)
            session.commit()
        except BaseException:
            session.rollback()
            raise
    begin_reading()


def run_write(work: Callable[[], T], *, keep_loaded: bool = False) -> T:
    """Run `work` in its own write transaction and commit; retry when the database asks to.

    `work` must only flush. A DomainError rolls everything back and is raised as is.

    `keep_loaded`: the commits do not expire what the session holds, so the caller can render
    the result after the commit without reading it all again (and, on SQLite, without opening
    another transaction). `work` must then read what it judges by itself, fresh: objects loaded
    before the write transaction keep the values read then.
    """
    session = db.session()
    expire = session.expire_on_commit
    if keep_loaded:
        session.expire_on_commit = False
    try:
        return _run_write(work)
    finally:
        session.expire_on_commit = expire


def _run_write(work: Callable[[], T]) -> T:
    session = db.session()
    sqlite = dialect_name() == "sqlite"
    for attempt in range(ATTEMPTS):
        if sqlite or attempt or _has_written(session):
            # SQLite: a deferred (reading) transaction cannot become the writer while another
            # writes, so it ends here and the write begins IMMEDIATE. PostgreSQL goes on in the
            # request's transaction on the first attempt when it has only read: under READ
            # COMMITTED every statement reads what is committed, and the space's row lock orders
            # the checks; ending it would cost a COMMIT, the pool's ping of the connection taken
            # again, and a BEGIN. (What the request changed is committed first, so a refused
            # write never takes it back.)
            session.commit()
        elif session.expire_on_commit:
            session.expire_all()  # as that commit would: `work` reads what it judges afresh
        try:
            with writer_turn():
                if sqlite:
                    db.session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
                try:
                    result = work()
                    db.session.commit()
                    return result
                except BaseException:
                    db.session.rollback()  # before the next writer's turn
                    raise
        except DomainError:
            raise
        except DBAPIError as exc:
            if _sqlstate(exc) == EXCLUSION_VIOLATION:
                raise Conflict(detail=str(_l("This time is already taken."))) from exc
            if not _retryable(exc) or attempt == ATTEMPTS - 1:
                if isinstance(exc, OperationalError):
                    raise _busy() from exc
                raise
            time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
    raise AssertionError("unreachable")


_WROTE = "dichtbij.wrote"  # in Session.info: the session's transaction has flushed a change


def _has_written(session) -> bool:
    """Whether the session's transaction holds a change: pending in the session, or already
    flushed (an autoflush before a query empties `dirty`, not the transaction)."""
    if session.info.get(_WROTE) or session.new or session.deleted:
        return True
    return any(session.is_modified(obj) for obj in session.dirty)


def _note_flush(session, _flush_context) -> None:
    session.info[_WROTE] = True


def _forget_flushes(session, transaction) -> None:
    if transaction.parent is None:  # the session's transaction, not a savepoint, has ended
        session.info.pop(_WROTE, None)


for _name, _listener in (("after_flush", _note_flush), ("after_transaction_end", _forget_flushes)):
    if not event.contains(Session, _name, _listener):
        event.listen(Session, _name, _listener)


# -- SQLite: writers take turns ------------------------------------------------------------------


class _Turns:
    """Per process: for each SQLite database, a lock for this process's threads and a file
    descriptor of `<database>-writers` for `flock` between processes."""

    def __init__(self) -> None:
        self._pid = os.getpid()
        self._guard = threading.Lock()
        self._turns: dict[str, tuple[threading.Lock, int | None]] = {}

    def of(self, path: str) -> tuple[threading.Lock, int | None]:
        if self._pid != os.getpid():  # forked: the parent's descriptors share the parent's locks
            self.__init__()
        with self._guard:
            found = self._turns.get(path)
            if found is None:
                fd = None
                if fcntl is not None:
                    try:
                        fd = os.open(f"{path}-writers", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                    except OSError:
                        fd = None  # a read-only directory: threads still take turns
                found = self._turns[path] = (threading.Lock(), fd)
            return found


_TURNS = _Turns()


@contextmanager
def writer_turn() -> Iterator[None]:
    """On SQLite, wait for this writer's turn before BEGIN IMMEDIATE; a no-op on PostgreSQL.

    SQLite's busy handler makes a waiting writer sleep and poll (1, 2, 5 … 100 ms), so under
    load the write lock sits free while writers sleep, and an unlucky one waits for seconds.
    Writers that queue here instead (threads on a lock, processes on `flock` of a file next to
    the database) are woken the moment the one before them is done. The turn only orders the
    writers: BEGIN IMMEDIATE still takes SQLite's lock, and a writer that does not queue here
    (a page of the site, a CLI command) still gets it through the busy timeout.
    """
    bind = db.session.get_bind()
    path = bind.engine.url.database if bind.dialect.name == "sqlite" else None
    if not path or path == ":memory:" or path.startswith("file:"):
        yield
        return
    lock, fd = _TURNS.of(os.path.abspath(path))
    deadline = time.monotonic() + BUSY_WAIT
    if not lock.acquire(timeout=BUSY_WAIT):
        raise _busy()
    try:
        if fd is not None:
            _flock_until(fd, deadline)
        try:
            yield
        finally:
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        lock.release()


def _busy() -> Unavailable:
    return Unavailable(detail=str(_l("The database is busy. Try again in a moment.")))


def _flock_until(fd: int, deadline: float) -> None:
    """The other processes' turn, waited for until `deadline` (then 503, as the busy timeout
    would): `flock` itself cannot time out. Only one thread per process waits here (it holds
    the process's lock), and it checks every millisecond or two, so a turn passes on quickly."""
    pause = 0.0005
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise _busy() from None
            time.sleep(pause)
            pause = min(pause * 2, 0.002)
