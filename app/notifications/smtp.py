"""Getting a composed message to the mail server, or (in development) to instance/outbox/.

A transport is opened once per delivery run and reused for every message in it. When the server
cannot be reached, the transport remembers why and fails the rest of the run at once, so a dead
server costs one connection timeout per run, not one per message.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from email.utils import parseaddr
from pathlib import Path
from typing import Protocol

DEFAULT_TIMEOUT = 30.0


class DeliveryError(Exception):
    """The message was not accepted; it stays queued."""


class Transport(Protocol):
    def send(self, sender: str, recipient: str, message: bytes, name: str) -> None: ...

    def close(self) -> None: ...


class SmtpTransport:
    """SMTP with optional implicit TLS (MAIL_USE_SSL), STARTTLS (MAIL_USE_TLS) and login."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        use_tls: bool = False,
        use_ssl: bool = False,
        username: str = "",
        password: str = "",
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.use_tls, self.use_ssl = use_tls, use_ssl
        self.username, self.password = username, password
        self._smtp: smtplib.SMTP | None = None
        self._down: DeliveryError | None = None

    def _connect(self) -> smtplib.SMTP:
        if self._down is not None:
            raise self._down
        if self._smtp is not None:
            return self._smtp
        context = ssl.create_default_context()
        smtp: smtplib.SMTP | None = None
        try:
            if self.use_ssl:
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            smtp.ehlo()
            if self.use_tls and not self.use_ssl:
                smtp.starttls(context=context)
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self.password)
        except (OSError, smtplib.SMTPException) as exc:
            if smtp is not None:
                smtp.close()
            self._down = DeliveryError(f"cannot reach {self.host}:{self.port}: {describe(exc)}")
            raise self._down from exc
        self._smtp = smtp
        return smtp

    def send(self, sender: str, recipient: str, message: bytes, name: str = "") -> None:
        smtp = self._connect()
        try:
            smtp.sendmail(sender, [recipient], message)
        except (OSError, smtplib.SMTPException) as exc:
            # The connection may be unusable now (a dropped link, a 421): start afresh next time.
            self._drop()
            raise DeliveryError(describe(exc)) from exc

    def _drop(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.close()
            finally:
                self._smtp = None

    def close(self) -> None:
        if self._smtp is None:
            return
        try:
            self._smtp.quit()
        except (OSError, smtplib.SMTPException):
            pass
        finally:
            self._drop()


class DirectoryTransport:
    """Development without a mail server: each message becomes an .eml file to open in a mail client."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def send(self, sender: str, recipient: str, message: bytes, name: str = "") -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            target = self.directory / f"{name or 'message'}.eml"
            partial = target.with_suffix(".eml.part")
            partial.write_bytes(message)
            os.replace(partial, target)  # a reader never sees half a file
        except OSError as exc:
            raise DeliveryError(describe(exc)) from exc

    def close(self) -> None:
        pass


def transport_from_config(config, instance_path: str, *, timeout: float | None = None) -> Transport:
    """SMTP when MAIL_SERVER is set; otherwise files under <instance>/outbox/."""
    if not config.get("MAIL_SERVER"):
        return DirectoryTransport(Path(instance_path) / "outbox")
    return SmtpTransport(
        config["MAIL_SERVER"],
        int(config.get("MAIL_PORT") or 25),
        use_tls=bool(config.get("MAIL_USE_TLS")),
        use_ssl=bool(config.get("MAIL_USE_SSL")),
        username=config.get("MAIL_USERNAME") or "",
        password=config.get("MAIL_PASSWORD") or "",
        timeout=timeout if timeout is not None else float(config.get("MAIL_TIMEOUT") or DEFAULT_TIMEOUT),
    )


def envelope_sender(config) -> str:
    """The bare address of MAIL_DEFAULT_SENDER ("Dichtbij <noreply@…>" → "noreply@…")."""
    return parseaddr(config.get("MAIL_DEFAULT_SENDER") or "")[1]


def describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return text[:480]
