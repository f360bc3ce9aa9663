"""Count the SQL statements a piece of code sends to the database.

    with count_statements(engine) as statements:
        client.get("/bookings")
    assert len(statements) <= 8, statements.report()

Transaction control (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE SAVEPOINT) is not counted:
the tests' outer transaction turns the app's commits into savepoints, and on SQLite the app
emits BEGIN itself. Only statements sent from the counting thread are counted.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections import Counter
from collections.abc import Iterator

from sqlalchemy import event
from sqlalchemy.engine import Engine

NOISE = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE\s+SAVEPOINT|END)\b", re.IGNORECASE)
_PARAMETER_LIST = re.compile(r"\((?:\s*(?:\?|%\([^)]*\)s|%s|:\w+|__\[POSTCOMPILE_\w+\])(?:::\w+)?\s*,?)+\)")
_SPACE = re.compile(r"\s+")
_COLUMNS = re.compile(r"^SELECT ((?:(?!\bFROM\b).)+?) FROM ", re.IGNORECASE)


def shape(statement: str) -> str:
    """The statement on one line, with IN-lists of any length written the same way."""
    return _PARAMETER_LIST.sub("(…)", _SPACE.sub(" ", statement).strip())


def brief(statement: str, width: int = 300) -> str:
    """The shape, a long column list left out: `SELECT … FROM opening_windows WHERE …`."""
    text = _COLUMNS.sub(lambda m: m[0] if len(m[1]) < 60 else "SELECT … FROM ", shape(statement))
    return text if len(text) <= width else text[: width - 1] + "…"


class Statements:
    """The statements seen, in order (transaction control left out)."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[str]:
        return iter(self.items)

    def shapes(self) -> Counter[str]:
        return Counter(shape(s) for s in self.items)

    def repeated(self) -> list[tuple[int, str]]:
        """Statements sent more than once, the most repeated first."""
        return [(n, s) for s, n in self.shapes().most_common() if n > 1]

    def report(self, title: str = "statements", width: int = 300) -> str:
        lines = [f"{title}: {len(self)}"]
        lines += [f"  {i:3d}. {brief(s, width)}" for i, s in enumerate(self.items, 1)]
        if repeats := self.repeated():
            lines.append("  repeated:")
            lines += [f"    {n} × {brief(s, width)}" for n, s in repeats]
        return "\n".join(lines)


def growth(small: Statements, large: Statements, width: int = 300) -> str:
    """Which statements were sent more often for more results: the N+1, named."""
    before, after = small.shapes(), large.shapes()
    grown = [(after[s] - before.get(s, 0), before.get(s, 0), after[s], s) for s in after if after[s] > before.get(s, 0)]
    if not grown:
        return "no statement was sent more often"
    grown.sort(key=lambda g: -g[0])
    return "sent more often with more results:\n" + "\n".join(
        f"  {was} → {now} × {brief(s, width)}" for _, was, now, s in grown
    )


@contextlib.contextmanager
def count_statements(engine: Engine) -> Iterator[Statements]:
    """Collect the statements `engine` executes on this thread inside the block."""
    statements = Statements()
    thread = threading.get_ident()

    def seen(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        if threading.get_ident() == thread and not NOISE.match(statement):
            statements.items.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", seen)
