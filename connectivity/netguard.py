"""Where probes may connect.

Probes reach only the host they were given.  The host is resolved once, every resolved address is
vetted, and the probe then connects to the vetted IP itself (never resolving the name again, so a
DNS answer cannot change between the check and the connection).  Link-local and cloud-metadata
addresses are refused unless the caller passes ``allow_link_local=True``.  Loopback and private
ranges stay allowed: the portal is self-hosted and talks to on-premises Exchange servers.

Every network operation here takes a timeout.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import ipaddress
import os
import queue
import socket
import threading
from collections.abc import Callable, Sequence

from connectivity.i18n import N_

# Networks refused unless explicitly allowed.
LINK_LOCAL_NETWORKS = (
    ipaddress.ip_network("169.254.0.0/16"),  # IPv4 link-local, incl. 169.254.169.254 metadata
    ipaddress.ip_network("fe80::/10"),  # IPv6 link-local
)
METADATA_ADDRESSES = (
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud metadata
    ipaddress.ip_address("fd00:ec2::254"),  # AWS IPv6 metadata
    ipaddress.ip_address("169.254.169.254"),  # AWS/Azure/GCP metadata (also link-local)
)

Resolver = Callable[[str, int], Sequence[str]]

DEFAULT_TIMEOUT = 10.0


class NetguardError(OSError):
    pass


class AddressRefused(NetguardError):
    """The target resolves to an address probes must not contact."""


class ResolutionFailed(NetguardError):
    """The host name could not be resolved.

    ``kind`` says why: NXDOMAIN (a resolver answered that the name does not exist) or
    NO_ANSWER (no resolver answered: none configured, refused, failed or timed out).
    """

    def __init__(self, message: str, *, host: str = "", kind: str = "", reason: str = "") -> None:
        super().__init__(message)
        self.host, self.kind, self.reason = host, kind, reason


NXDOMAIN, NO_ANSWER = "nxdomain", "no_answer"


def gaierror_kind(exc: socket.gaierror) -> str:
    """EAI_NONAME/EAI_NODATA: a resolver answered "no such name"; EAI_AGAIN (no answer, refused,
    SERVFAIL, or no resolver configured), EAI_FAIL and the rest: no usable answer at all."""
    answered_no = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", -5)}
    return NXDOMAIN if exc.errno in answered_no else NO_ANSWER


def _unmap(ip: ipaddress.IPv4Address | ipaddress.IPv6Address):
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def refusal_reason(address: str, *, allow_link_local: bool = False) -> str | None:
    """Why ``address`` is refused, or None when it may be contacted."""
    return _refusal_reason(address, allow_link_local)


# A verdict depends on the address text alone, and a fan-out vets the same few addresses for
# every probe (twice: after resolving and before connecting), so verdicts are remembered.
@functools.lru_cache(maxsize=4096)
def _refusal_reason(address: str, allow_link_local: bool) -> str | None:
    try:
        ip = _unmap(ipaddress.ip_address(address.split("%", 1)[0]))
    except ValueError:
        return N_("%(address)s is not an IP address", address=repr(address))
    if allow_link_local:
        return None
    if ip in METADATA_ADDRESSES:
        return N_("%(address)s is a cloud metadata address", address=ip)
    if any(ip in net for net in LINK_LOCAL_NETWORKS if net.version == ip.version):
        return N_("%(address)s is a link-local address", address=ip)
    return None


def check_address(address: str, *, allow_link_local: bool = False) -> str:
    reason = refusal_reason(address, allow_link_local=allow_link_local)
    if reason:
        raise AddressRefused(N_("refused to connect: %(reason)s", reason=reason))
    return address


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        if sockaddr[0] not in seen:
            seen.append(sockaddr[0])
    return seen


def _is_ip(host: str) -> bool:
    if not host[:1].isdigit() and ":" not in host:
        return False  # a name (IP literals start with a digit or contain a colon)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


# Lookup threads are reused: starting and ending a thread per probe cost more CPU than the
# lookup.  A lookup that hangs keeps only its own thread; the next one takes an idle thread or
# starts another, so one stuck name never delays the others.  Idle threads end after a while.
_LOOKUP_IDLE_SECONDS = 30.0
_idle_inboxes: list[queue.SimpleQueue] = []
_idle_lock = threading.Lock()
os.register_at_fork(after_in_child=_idle_inboxes.clear)  # those threads are not in the child


def _lookup(fn: Resolver, host: str, port: int, timeout: float) -> Sequence[str]:
    answer: queue.SimpleQueue = queue.SimpleQueue()
    with _idle_lock:
        inbox = _idle_inboxes.pop() if _idle_inboxes else None
    if inbox is None:
        inbox = queue.SimpleQueue()
        threading.Thread(target=_lookup_thread, args=(inbox,), name="netguard-lookup",
                         daemon=True).start()  # fmt: skip
    inbox.put((fn, host, port, answer))
    try:
        ok, value = answer.get(timeout=timeout)
    except queue.Empty:
        raise TimeoutError from None
    if not ok:
        raise value
    return value


def _lookup_thread(inbox: queue.SimpleQueue) -> None:
    while True:
        try:
            fn, host, port, answer = inbox.get(timeout=_LOOKUP_IDLE_SECONDS)
        except queue.Empty:
            with _idle_lock:
                if inbox in _idle_inboxes:
                    _idle_inboxes.remove(inbox)
                    return
            continue  # taken just now: its lookup is on the way
        try:
            answer.put((True, fn(host, port)))
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller
            answer.put((False, exc))
        del answer  # nothing of the last lookup stays alive while the thread is idle
        with _idle_lock:
            _idle_inboxes.append(inbox)


def resolve(
    host: str,
    port: int,
    *,
    allow_link_local: bool = False,
    resolver: Resolver | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[str]:
    """Resolve ``host`` and vet every address; return the addresses (IPv4 first).

    A host whose answer contains any refused address is refused as a whole: a mixed answer is
    exactly what a rebinding attacker would send.
    """
    if _is_ip(host):
        addresses = [host]
    else:
        fn = resolver or system_resolver
        # getaddrinfo has no timeout of its own; bound it with a worker thread.
        try:
            addresses = list(_lookup(fn, host, port, timeout))
        except TimeoutError:
            raise ResolutionFailed(
                N_("resolving %(host)s timed out after %(seconds)s s", host=host,
                   seconds=f"{timeout:g}"),
                host=host, kind=NO_ANSWER,
                reason=N_("timed out after %(seconds)s s", seconds=f"{timeout:g}"),
            )  # fmt: skip
        except socket.gaierror as exc:
            raise ResolutionFailed(
                N_("cannot resolve %(host)s: %(reason)s", host=host, reason=exc.strerror or exc),
                host=host,
                kind=gaierror_kind(exc), reason=exc.strerror or "",
            )  # fmt: skip
    if not addresses:
        raise ResolutionFailed(N_("%(host)s has no addresses", host=host), host=host, kind=NXDOMAIN)
    for address in addresses:
        check_address(address, allow_link_local=allow_link_local)
    return sorted(addresses, key=lambda a: ":" in a)


def connect(
    address: str,
    port: int,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    allow_link_local: bool = False,
) -> socket.socket:
    """Open a TCP connection to an already vetted IP address (checked again here)."""
    check_address(address, allow_link_local=allow_link_local)
    family = socket.AF_INET6 if ":" in address else socket.AF_INET  # vetted: an IP literal
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect((address, port))
    except BaseException:
        sock.close()
        raise
    return sock


def connect_first(
    addresses: Sequence[str],
    port: int,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    allow_link_local: bool = False,
) -> tuple[socket.socket, str]:
    """Try the vetted addresses in order; return the socket and the address that answered."""
    last: OSError | None = None
    for address in addresses:
        try:
            return connect(
                address, port, timeout=timeout, allow_link_local=allow_link_local
            ), address
        except AddressRefused:
            raise
        except OSError as exc:
            last = exc
    assert last is not None
    raise last


# -- guarding third-party HTTP clients (exchangelib / requests / urllib3) -----------------------

_guard: contextvars.ContextVar[_Guard | None] = contextvars.ContextVar("netguard", default=None)
_installed_lock = threading.Lock()
_original_create_connection = None


class _Guard:
    def __init__(self, pins, allow_link_local, resolver, timeout) -> None:
        self.pins = {k.lower(): v for k, v in (pins or {}).items()}
        self.allow_link_local = allow_link_local
        self.resolver = resolver
        self.timeout = timeout


def _guarded_create_connection(address, timeout=None, source_address=None, socket_options=None):
    guard = _guard.get()
    if guard is None:
        return _original_create_connection(address, timeout, source_address, socket_options)
    host, port = address
    host = host.strip("[]").lower()
    if host in guard.pins:
        addresses = [guard.pins[host]]
    else:
        addresses = resolve(
            host,
            port,
            allow_link_local=guard.allow_link_local,
            resolver=guard.resolver,
            timeout=guard.timeout,
        )
        guard.pins[host] = addresses[0]  # later connections reuse the vetted answer
    secs = timeout if isinstance(timeout, int | float) else guard.timeout
    sock, _ = connect_first(addresses, port, timeout=secs, allow_link_local=guard.allow_link_local)
    for opt in socket_options or ():
        sock.setsockopt(*opt)
    return sock


def _install_urllib3_hook() -> None:
    global _original_create_connection
    import urllib3.util.connection as u3

    with _installed_lock:
        if _original_create_connection is None:
            _original_create_connection = u3.create_connection
            u3.create_connection = _guarded_create_connection


@contextlib.contextmanager
def guard_http_clients(
    pins: dict[str, str] | None = None,
    *,
    allow_link_local: bool = False,
    resolver: Resolver | None = None,
    timeout: float = DEFAULT_TIMEOUT,
):
    """Within this block (in this thread/context only), every urllib3 connection — hence
    requests and exchangelib — resolves through netguard: ``pins`` maps already vetted host
    names to the IP to use (no second resolution); other hosts are resolved once and vetted.
    Other threads are unaffected."""
    _install_urllib3_hook()
    token = _guard.set(_Guard(pins, allow_link_local, resolver, timeout))
    try:
        yield
    finally:
        _guard.reset(token)
