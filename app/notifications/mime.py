"""Writing a booking mail as RFC 5322 / MIME bytes, by hand.

`email.message.EmailMessage` with `email.policy.SMTP` parses every header it is given and again
when it writes them; for our one fixed message shape that was ~5 ms of CPU a mail (two thirds of
composing it). The shape here is the same, written directly:

    multipart/mixed
        multipart/alternative
            text/plain; charset="utf-8"                          quoted-printable
            text/html; charset="utf-8"                           quoted-printable
            text/calendar; method="…"; charset="utf-8"           base64
        application/ics, attachment, filename="invite.ics"      base64

Every line ends in CRLF and every byte is 7-bit (quoted-printable, base64, RFC 2047 encoded
words in headers), so no relay has to understand 8BITMIME. Header values must already be on one
line (`compose.one_line`): nothing here can add a header.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from email.header import Header
from email.utils import formataddr

CRLF = "\r\n"
HEADER_WIDTH = 78


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", CRLF)


def header_text(name: str, value: str) -> str:
    """An unstructured header value (Subject): folded at whitespace; RFC 2047 words when not ASCII."""
    if "\r" in value or "\n" in value:
        raise ValueError(f"{name} must be one line")
    # Text that merely looks like an encoded word is encoded too, so it reads back as typed.
    plain = value.isascii() and "=?" not in value
    if plain and len(name) + 2 + len(value) <= HEADER_WIDTH:
        return value  # what Header would answer for short ASCII text, at a tenth of the cost
    charset = "us-ascii" if plain else "utf-8"
    return Header(value, charset, maxlinelen=HEADER_WIDTH, header_name=name).encode(linesep=CRLF)


def header_address(name: str, address: str, header: str = "To") -> str:
    """ "Anne <anne@example.org>"; a name that is not ASCII as RFC 2047 words."""
    if any(c in name + address for c in "\r\n"):
        raise ValueError(f"{header} must be one line")
    if not name:
        return address
    if name.isascii() and "=?" not in name:
        return formataddr((name, address))  # quotes the name when it has specials
    encoded = Header(name, "utf-8", maxlinelen=HEADER_WIDTH, header_name=header).encode(linesep=CRLF)
    last = encoded.rpartition(CRLF)[2]
    if len(last) + len(address) + 3 > HEADER_WIDTH - (0 if CRLF in encoded else len(header) + 2):
        return f"{encoded}{CRLF} <{address}>"  # folding before the angle bracket is allowed
    return f"{encoded} <{address}>"


def quoted_printable(text: str) -> str:
    """UTF-8 text as quoted-printable with CRLF line ends (lines of at most 76 characters)."""
    body = _crlf(text)
    if not body.endswith(CRLF):
        body += CRLF
    return binascii.b2a_qp(body.encode("utf-8"), istext=True).decode("ascii")


def base64_lines(data: bytes) -> str:
    """Base64 in lines of 76 characters, CRLF ends."""
    return base64.encodebytes(data).decode("ascii").replace("\n", CRLF)


def _boundary() -> str:
    # "=_" never occurs in quoted-printable or base64 text, so no body can contain the boundary.
    return "=_" + secrets.token_hex(12)


def booking_message(
    headers: list[tuple[str, str]], text: str, html: str, calendar: bytes, method: str, *, filename: str = "invite.ics"
) -> bytes:
    """The whole message. `headers` are (name, encoded value) pairs, written after the MIME ones."""
    outer, inner = _boundary(), _boundary()
    encoded_calendar = base64_lines(calendar)
    lines = [
        "MIME-Version: 1.0",
        f'Content-Type: multipart/mixed; boundary="{outer}"',
        *(f"{name}: {value}" for name, value in headers),
        "",
        f"--{outer}",
        f'Content-Type: multipart/alternative; boundary="{inner}"',
        "",
        f"--{inner}",
        'Content-Type: text/plain; charset="utf-8"',
        "Content-Transfer-Encoding: quoted-printable",
        "",
        quoted_printable(text),
        f"--{inner}",
        'Content-Type: text/html; charset="utf-8"',
        "Content-Transfer-Encoding: quoted-printable",
        "",
        quoted_printable(html),
        f"--{inner}",
        f'Content-Type: text/calendar; method="{method}"; charset="utf-8"',
        "Content-Transfer-Encoding: base64",
        "",
        encoded_calendar,
        f"--{inner}--",
        "",
        f"--{outer}",
        "Content-Type: application/ics",
        "Content-Transfer-Encoding: base64",
        f'Content-Disposition: attachment; filename="{filename}"',
        "",
        encoded_calendar,
        f"--{outer}--",
        "",
    ]
    # Each body ends in CRLF, and the CRLF before a boundary line belongs to the boundary: every
    # part's content ends with a line break, as the email package writes it.
    return CRLF.join(lines).encode("ascii")
