"""A small iCalendar writer for feeds: content lines as text, without a component tree.

Building 5,000 `icalendar.Event` objects and serialising them took seconds and tens of MB; a
feed's events all have the same few properties, so writing their lines directly is about 20x
cheaper. The output follows what icalendar 7.3 writes for the same values (same properties,
order, parameter quoting and 74-octet folding), so calendar apps see the same events:

- TEXT values are escaped per RFC 5545 3.3.11 (backslash, ";", ",", and a line break of any
  kind as "\\n"): a title can never end a line, so it can never add a property or an event.
  Other control characters (not allowed in iCalendar) are left out.
  Unlike icalendar, a literal "\\N" in a title stays text instead of becoming a line break.
- Parameter values (CN) use RFC 6868 escapes ("^^", "^n", "^'") and are quoted when needed.
- URI values (mailto:, URL) get control characters percent-encoded, so they cannot break a line.
- Lines are folded with CRLF + space at 74 octets of content (75 with the space), never inside
  a UTF-8 sequence and never between an escape character and the character it escapes (Google
  drops an event whose "\\," is split by a fold).

icalendar stays in charge of VTIMEZONE blocks: they are built once per (zone, first year) and
kept for the life of the process.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, tzinfo
from functools import lru_cache

from icalendar import Timezone
from icalendar.timezone import tzid_from_tzinfo

CRLF = "\r\n"
FOLD_OCTETS = 74  # icalendar's limit: 74 octets of content, 75 with a continuation's space
# RFC 5545 allows no control character but HTAB in TEXT or parameter values, and icalendar's
# parser drops a property that has one: they are left out (the app already refuses NUL).
_DROP = dict.fromkeys((*range(0x09), *range(0x0A, 0x20), 0x7F))
_TEXT = str.maketrans({**_DROP, "\\": "\\\\", ";": "\\;", ",": "\\,", "\n": "\\n", "\r": "\\n"})
_TEXT_SPECIAL = re.compile(r"[\\;,\x00-\x08\x0a-\x1f\x7f]")
_PARAM = str.maketrans({**_DROP, "^": "^^", "\n": "^n", "\r": "^n", '"': "^'"})
# What icalendar quotes a CN for, plus a backslash and a tab: icalendar's parser takes a backslash
# before ";" in an unquoted parameter as an escape (a name ending in one would swallow the next
# parameter), and strips unquoted whitespace around ";".
_PARAM_QUOTE = re.compile("[,;:\u2019 '\t\\\\]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def text(value: str) -> str:
    """An RFC 5545 TEXT value: CRLF, CR and LF each become one "\\n"."""
    if not _TEXT_SPECIAL.search(value):
        return value
    return value.replace("\r\n", "\n").translate(_TEXT)


def param(value: str) -> str:
    """A parameter value (RFC 6868 escapes), in double quotes when it holds , ; : ’ space ' or \\."""
    escaped = value.replace("\r\n", "\n").translate(_PARAM)
    return f'"{escaped}"' if _PARAM_QUOTE.search(value) else escaped


def uri(value: str) -> str:
    """A URI value: control characters percent-encoded, so a stray CR/LF stays inside the line."""
    if not _CONTROL.search(value):
        return value
    return _CONTROL.sub(lambda m: f"%{ord(m.group()):02X}", value)


def fold(line: str, value_at: int) -> str:
    """Fold one content line; `value_at` is where its value starts (after the ":").

    Before `value_at` "^" is the escape character (RFC 6868), after it "\\" (TEXT).
    """
    if len(line) <= FOLD_OCTETS and line.isascii():
        return line
    data = line.encode()
    if len(data) <= FOLD_OCTETS:
        return line
    value_at = len(line[:value_at].encode()) if not line.isascii() else value_at
    pieces = []
    start = 0
    while len(data) - start > FOLD_OCTETS:
        end = start + FOLD_OCTETS
        while data[end] & 0xC0 == 0x80:  # never cut a UTF-8 sequence
            end -= 1
        escape, floor = (0x5C, value_at) if end - 1 >= value_at else (0x5E, 0)
        run = 0
        while end - 1 - run >= floor and data[end - 1 - run] == escape:
            run += 1
        if run % 2 and end - 1 > start:  # the last octet opens an escape: keep the pair together
            end -= 1
        pieces.append(data[start:end].decode())
        start = end
    pieces.append(data[start:].decode())
    return "\r\n ".join(pieces)


def line(name: str, value: str, params: str = "") -> str:
    """`NAME;PARAMS:VALUE`, folded; `value` must already be escaped for its type."""
    head = f"{name};{params}:" if params else f"{name}:"
    return fold(head + value, len(head))


def utc_stamp(value: datetime) -> str:
    """A DATE-TIME in UTC ("...Z"); a naive value is refused, never taken as floating."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime refused: bookings are stored as UTC instants")
    v = value.astimezone(UTC)
    return f"{v.year:04}{v.month:02}{v.day:02}T{v.hour:02}{v.minute:02}{v.second:02}Z"


def wall(value: datetime) -> str:
    """A datetime's own wall-clock time without a suffix: for a line with TZID."""
    return f"{value.year:04}{value.month:02}{value.day:02}T{value.hour:02}{value.minute:02}{value.second:02}"


@lru_cache(maxsize=64)
def tzid(zone: tzinfo) -> str | None:
    """The TZID icalendar would write for `zone`; None for UTC and its aliases ("Z" instead)."""
    found = tzid_from_tzinfo(zone)
    return None if found in (None, "UTC") else found


@lru_cache(maxsize=64)
def vtimezone(zone_id: str, first_year: int) -> str:
    """The VTIMEZONE block for `zone_id` from `first_year` for four years, built by icalendar.

    Building one takes milliseconds; it only changes once a year, so it is kept per process.
    icalendar lists the later transitions in one RDATE line ("RDATE:20270328T030000,2028...");
    vobject (and so any client that parses like it) reads only the first value and puts every
    summer from the third year on an hour off, so each transition gets its own RDATE line.
    "" when icalendar does not know the zone (it would leave it out too).
    """
    try:
        block = Timezone.from_tzid(zone_id, first_date=date(first_year, 1, 1), last_date=date(first_year + 4, 1, 1))
    except ValueError:
        return ""
    return split_rdates(block.to_ical().decode())


def split_rdates(block: str) -> str:
    """One RDATE line per date-time instead of a comma-separated list (same meaning, RFC 5545 3.8.5.2)."""
    lines = []
    for unfolded in block.replace("\r\n ", "").split("\r\n"):
        if unfolded.startswith("RDATE:"):
            lines += [f"RDATE:{value}" for value in unfolded.removeprefix("RDATE:").split(",")]
        else:
            lines.append(fold(unfolded, unfolded.find(":") + 1))
    return "\r\n".join(lines)
