"""Download a calendar feed without opening a way into our own network.

A feed URL is typed by a venue manager, and the server fetches it: without care that is a
server-side request forgery (SSRF) hole (`http://169.254.169.254/`, `http://localhost:6379/`).
So, for every hop of a download:

- only http and https (webcal is https) URLs without user names or passwords;
- the host name is resolved here, once, and EVERY address it has is checked: private,
  loopback, link-local, CGNAT, multicast, reserved, unspecified, IPv6 unique-local and
  site-local, IPv4-mapped (and IPv4 embedded in 6to4, Teredo or NAT64) are refused unless
  `IMPORT_ALLOW_PRIVATE_ADDRESSES` is on;
- the connection goes to a checked address, never through a second DNS lookup (DNS
  rebinding), with the original host name in the Host header and as TLS SNI (certificates
  are verified against that name);
- redirects are followed by hand, each target checked again, up to a limit.

One download has a total deadline (a watchdog closes the socket when it passes, so a server
that trickles bytes cannot hold a worker), a size cap, and asks for no compression. The
resolver (`socket.getaddrinfo`) has no timeout of its own; the system resolver's applies.
Pure networking: no Flask, no database.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

SCHEMES = {"http": "http", "https": "https", "webcal": "https", "webcals": "https"}
DEFAULT_PORTS = {"http": 80, "https": 443}
REDIRECTS = {301, 302, 303, 307, 308}
MAX_URL_LENGTH = 2000
USER_AGENT = "Dichtbij-calendar-import/1.0"
CHUNK = 64 * 1024

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


class FetchError(Exception):
    """The feed could not be downloaded; the message is meant for the venue's manager."""


class Refused(FetchError):
    """The URL, or an address it leads to, is not one we fetch from."""


@dataclass(frozen=True)
class Limits:
    timeout: float = 10
    max_bytes: int = 5 * 1024 * 1024
    max_redirects: int = 5
    allow_private: bool = False


@dataclass(frozen=True)
class Response:
    """A 200 with its body, or a 304 (`body` None): the feed is what we have."""

    status: int
    body: bytes | None
    etag: str | None
    last_modified: str | None
    url: str


# -- URLs and addresses ---------------------------------------------------------------------


def normalise_url(url: str) -> str:
    """The URL as we fetch it (webcal → https, no fragment, ASCII), or Refused saying why."""
    text = (url or "").strip()
    if not text or len(text) > MAX_URL_LENGTH:
        raise Refused(f"Give a web address of at most {MAX_URL_LENGTH} characters.")
    if any(ord(c) < 33 or ord(c) == 127 for c in text):
        raise Refused("A web address cannot contain spaces or control characters.")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise Refused("This is not a valid web address.") from exc
    scheme = SCHEMES.get(parts.scheme.lower())
    if scheme is None:
        raise Refused("Only http://, https:// and webcal:// addresses can be imported.")
    if parts.username is not None or parts.password is not None:
        raise Refused("Leave the user name and password out of the address.")
    host = parts.hostname
    if not host:
        raise Refused("The address has no host name.")
    try:
        ascii_host = host if ":" in host else host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise Refused("The host name is not valid.") from exc
    netloc = f"[{ascii_host}]" if ":" in ascii_host else ascii_host
    if port is not None:
        netloc += f":{port}"
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    query = quote(parts.query, safe="/%:@!$&'()*+,;=-._~?")
    normal = urlunsplit((scheme, netloc, path, query, ""))
    if len(normal) > MAX_URL_LENGTH:
        raise Refused(f"Give a web address of at most {MAX_URL_LENGTH} characters.")
    return normal


def refused_address(ip: IPAddress) -> bool:
    """Whether an address lies outside the public internet (so inside someone's network)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None or ip.is_site_local:
            return True
        embedded = [ip.sixtofour]
        if ip.teredo:
            embedded.append(ip.teredo[1])
        if any(ip in net for net in _NAT64):
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if any(e is not None and refused_address(e) for e in embedded):
            return True
    elif ip in _CGNAT:
        return True
    return (
        not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def resolve(host: str, port: int) -> list[str]:
    """Every address of `host` (one lookup; tests replace this function)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def checked_addresses(host: str, port: int, allow_private: bool) -> list[str]:
    """The addresses to connect to; Refused when any of them is not public."""
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError) as exc:
        raise FetchError(f"The host name {host} could not be found.") from exc
    if not addresses:
        raise FetchError(f"The host name {host} could not be found.")
    if not allow_private:
        for address in addresses:
            try:
                ip = ipaddress.ip_address(address.split("%", 1)[0])
            except ValueError as exc:
                raise Refused(f"{host} has an address we cannot check.") from exc
            if refused_address(ip):
                raise Refused(f"{host} is a private or local address; calendars are only imported from the internet.")
    return addresses


def connect(address: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to one checked address (tests wrap this to guard where traffic goes)."""
    return socket.create_connection((address, port), timeout=timeout)


def tls_context() -> ssl.SSLContext:
    """Certificates verified against the system's CAs and the URL's host name."""
    return ssl.create_default_context()


# -- downloading ----------------------------------------------------------------------------


def fetch(url: str, limits: Limits, *, etag: str | None = None, last_modified: str | None = None) -> Response:
    """GET the feed, conditionally when `etag`/`last_modified` are known; FetchError on failure."""
    deadline = time.monotonic() + limits.timeout
    current = normalise_url(url)
    conditional = {}
    if etag:
        conditional["If-None-Match"] = etag
    if last_modified:
        conditional["If-Modified-Since"] = last_modified
    for _hop in range(limits.max_redirects + 1):
        status, headers, body = _get(current, conditional, deadline, limits)
        if status in REDIRECTS:
            location = headers.get("location")
            if not location:
                raise FetchError(f"The server answered {status} without saying where to go.")
            current = normalise_url(urljoin(current, location))
            continue
        if status == 304 and conditional:
            return Response(
                304, None, headers.get("etag") or etag, headers.get("last-modified") or last_modified, current
            )
        if status != 200:
            raise FetchError(f"The server answered {status} instead of the calendar.")
        return Response(200, body, headers.get("etag"), headers.get("last-modified"), current)
    raise FetchError(f"Too many redirects (more than {limits.max_redirects}).")


class _PinnedConnection(http.client.HTTPConnection):
    """HTTP(S) to addresses checked beforehand; `host` is only used for Host and SNI."""

    def __init__(self, host: str, port: int, addresses: list[str], tls: bool, deadline: float) -> None:
        super().__init__(host, port, timeout=max(0.001, deadline - time.monotonic()))
        self._addresses = addresses
        self._tls = tls
        self._deadline = deadline

    def connect(self) -> None:
        error: OSError | None = None
        for address in self._addresses:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("deadline passed")
            try:
                sock = connect(address, self.port, remaining)
                break
            except OSError as exc:
                error = exc
        else:
            raise error or OSError("no address to connect to")
        if self._tls:
            try:
                sock = tls_context().wrap_socket(sock, server_hostname=self.host)
            except BaseException:
                sock.close()
                raise
        self.sock = sock


def _get(url: str, conditional: dict[str, str], deadline: float, limits: Limits) -> tuple[int, dict, bytes]:
    parts = urlsplit(url)
    host, scheme = parts.hostname or "", parts.scheme
    port = parts.port or DEFAULT_PORTS[scheme]
    addresses = checked_addresses(host, port, limits.allow_private)
    conn = _PinnedConnection(host, port, addresses, scheme == "https", deadline)
    watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), _shutdown, args=(conn,))
    watchdog.daemon = True
    watchdog.start()
    try:
        conn.putrequest(
            "GET", urlunsplit(("", "", parts.path or "/", parts.query, "")), skip_host=True, skip_accept_encoding=True
        )
        conn.putheader("Host", parts.netloc)
        conn.putheader("User-Agent", USER_AGENT)
        conn.putheader("Accept", "text/calendar, text/plain;q=0.5, */*;q=0.1")
        conn.putheader("Accept-Encoding", "identity")
        for name, value in conditional.items():
            conn.putheader(name, value)
        conn.endheaders()
        response = conn.getresponse()
        headers = {k.lower(): v for k, v in response.getheaders()}
        if response.status != 200:
            return response.status, headers, b""
        return 200, headers, _read_capped(response, limits.max_bytes, deadline)
    except FetchError:
        raise
    except TimeoutError as exc:
        raise FetchError(f"No answer within {limits.timeout:g} seconds.") from exc
    except ssl.SSLError as exc:
        raise FetchError(f"The secure connection failed: {exc.reason or exc}.") from exc
    except (http.client.HTTPException, OSError, ValueError) as exc:
        if time.monotonic() >= deadline:
            raise FetchError(f"No answer within {limits.timeout:g} seconds.") from exc
        raise FetchError(f"The download failed: {exc.__class__.__name__}.") from exc
    finally:
        watchdog.cancel()
        conn.close()


def _read_capped(response: http.client.HTTPResponse, max_bytes: int, deadline: float) -> bytes:
    length = response.getheader("Content-Length")
    if length and length.strip().isdigit() and int(length) > max_bytes:
        raise FetchError(f"The calendar is larger than {_size(max_bytes)}.")
    chunks, total = [], 0
    while True:
        if time.monotonic() >= deadline:
            raise TimeoutError("deadline passed")
        chunk = response.read(CHUNK)
        if not chunk:
            if time.monotonic() >= deadline:  # the watchdog closed the socket: cut short, not complete
                raise TimeoutError("deadline passed")
            return b"".join(chunks)
        total += len(chunk)
        if total > max_bytes:
            raise FetchError(f"The calendar is larger than {_size(max_bytes)}.")
        chunks.append(chunk)


def _size(n: int) -> str:
    if n >= 1024 * 1024 and n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)} MiB"
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024} KiB"
    return f"{n} bytes"


def _shutdown(conn: http.client.HTTPConnection) -> None:
    """The deadline passed: wake up whatever read is waiting on the socket."""
    sock = conn.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
