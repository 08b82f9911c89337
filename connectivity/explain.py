"""Network failures in words: the one place that turns an exception into a sentence and a hint.

Probes, token requests and the portal's runner all end here, so a person never reads
``HTTPSConnectionPool(...) NameResolutionError``.  Name resolution failures are told apart:

* the resolver answered that the name does not exist (NXDOMAIN, ``EAI_NONAME``) — a spelling or
  DNS-record problem;
* this machine could not get an answer at all (no resolver, refused, SERVFAIL, timeout,
  ``EAI_AGAIN``/``EAI_FAIL``) — a network problem on the portal's side.

Hints are neutral about where they are read: a setting a person can change is written as a
placeholder such as ``{ca_file}``; the command line renders it as its flag (``--ca-file``), the
web portal as the form field's label with its article ("the … field", see :func:`render_hint`),
so a template never puts "the" before a placeholder.
"""

from __future__ import annotations

import errno
import re
import socket
import ssl
from collections.abc import Iterator, Mapping

import dns.exception
import dns.resolver

from connectivity.i18n import N_, Msg
from connectivity.netguard import (
    NO_ANSWER,
    NXDOMAIN,
    AddressRefused,
    ResolutionFailed,
    gaierror_kind,
)
from connectivity.platform import CLOUDS

# Settings a hint may name; each front end maps every one of them to its own wording.
SETTINGS = ("ca_file", "dns_server", "allow_link_local", "timeout", "auth_method")
_PLACEHOLDER = re.compile(r"\{(" + "|".join(SETTINGS) + r")\}")

# Public names every Internet resolver knows: "does not exist" for one of them means the
# resolver only knows an internal zone, not that Microsoft's name is gone.
PUBLIC_NAMES = frozenset(
    host
    for cloud in CLOUDS.values()
    for host in (
        cloud.smtp_host, cloud.imap_host, cloud.pop_host, cloud.autodiscover_host,
        cloud.authority.split("//", 1)[-1], cloud.ews_resource.split("//", 1)[-1],
    )
)  # fmt: skip

# The public name the DNS test asks this machine's resolver about when a domain comes back
# missing: the sign-in host of every Exchange Online tenant (one of PUBLIC_NAMES), so "missing"
# for it too means the resolver cannot see the Internet, not that the domain is gone.
PUBLIC_NAME = CLOUDS["worldwide"].authority.split("//", 1)[-1]

NXDOMAIN_HINT = N_(
    "Check the spelling of the host name and that its DNS record exists (ask whoever manages "
    "the domain's DNS)."
)
PUBLIC_NXDOMAIN_HINT = N_(
    "This machine's DNS server does not know public Internet names: it only serves an internal "
    "zone, or it has no way out to the Internet. Point this machine at a resolver that "
    "resolves public names (or set {dns_server}), or allow its outbound DNS and HTTPS."
)
NO_ANSWER_HINT = N_(
    "This machine could not get an answer from a DNS server: none is configured, it refused, "
    "or it is unreachable (no network or no Internet access). Check this machine's DNS "
    "settings (/etc/resolv.conf) and firewall, or set {dns_server}."
)


# How operating systems word name and network failures (they appear inside details), listed
# so that front ends can translate them as well.
OS_WORDINGS = (
    N_("Name or service not known"),
    N_("Temporary failure in name resolution"),
    N_("No address associated with hostname"),
    N_("Non-recoverable failure in name resolution"),
    N_("nodename nor servname provided, or not known"),
    N_("Connection refused"),
    N_("Connection reset by peer"),
    N_("Network is unreachable"),
    N_("No route to host"),
    N_("timed out"),
)


def said(exc: BaseException) -> str:
    """An exception's message, keeping a translatable sentence translatable."""
    first = exc.args[0] if len(exc.args) == 1 else None
    return first if isinstance(first, Msg) else str(exc)


def render_hint(text: str, names: Mapping[str, str]) -> str:
    """Replace ``{setting}`` placeholders with a front end's wording for each setting."""
    return _PLACEHOLDER.sub(lambda m: names.get(m.group(1), m.group(1).replace("_", " ")), text)


def resolution_failure(host: str, kind: str, reason: str = "") -> tuple[str, str]:
    """(detail, hint) for a name that did not resolve; ``kind`` is NXDOMAIN or NO_ANSWER."""
    if kind == NXDOMAIN:
        if host.lower().rstrip(".") in PUBLIC_NAMES:
            return (
                N_("the DNS server says %(host)s does not exist, although it is a public "
                   "Microsoft name: this machine cannot resolve public names", host=host),
                PUBLIC_NXDOMAIN_HINT,
            )  # fmt: skip
        return N_("%(host)s does not exist in DNS (NXDOMAIN)", host=host), NXDOMAIN_HINT
    if reason:
        return N_("this machine could not resolve %(host)s: no DNS server answered (%(reason)s)",
                  host=host, reason=reason), NO_ANSWER_HINT  # fmt: skip
    return N_("this machine could not resolve %(host)s: no DNS server answered", host=host), (
        NO_ANSWER_HINT
    )


def public_names_unresolvable(host: str, public: str = PUBLIC_NAME) -> tuple[str, str]:
    """(detail, hint) when ``host`` and the public name ``public`` both came back missing."""
    return (
        N_("the DNS server says %(host)s does not exist, and it cannot resolve the public name "
           "%(public)s either: this machine cannot resolve public names", host=host,
           public=public),
        PUBLIC_NXDOMAIN_HINT,
    )  # fmt: skip


def dns_kind(exc: BaseException) -> str | None:
    """dnspython's failures sorted the same way (None for errors that are not about names)."""
    if isinstance(exc, dns.resolver.NXDOMAIN):
        return NXDOMAIN
    if isinstance(exc, dns.resolver.NoNameservers | dns.exception.Timeout):
        return NO_ANSWER
    return None


def causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps: requests → urllib3 MaxRetryError → NameResolutionError → …"""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)
        todo.extend(a for a in getattr(current, "args", ()) if isinstance(a, BaseException))
        todo.extend([current.__cause__, current.__context__])


def explain(
    exc: BaseException, *, timeout: float | None = None, host: str | None = None
) -> tuple[str, str]:
    """(detail, hint) in plain words for any network exception (and a fallback for others)."""
    chain = list(causes(exc))
    found = _first(chain, AddressRefused)
    if found:
        return said(found), N_(
            "The host resolves to a link-local or cloud-metadata address, which tests refuse to "
            "contact. Check the host name; allow such addresses ({allow_link_local}) only if "
            "you really mean it."
        )
    found = _first(chain, ResolutionFailed)
    if found:
        if found.kind and found.host:
            return resolution_failure(found.host, found.kind, found.reason)
        return said(found), NXDOMAIN_HINT
    found = _first(chain, socket.gaierror)
    if found:
        name = host or _host_of(chain) or N_("the host")
        return resolution_failure(name, gaierror_kind(found), found.strerror or "")
    for item in chain:
        kind = dns_kind(item)
        if kind:
            return resolution_failure(
                host or _dns_name(item) or N_("the name"), kind, _dns_reason(item)
            )
    return _transport(chain, exc, timeout)


def _transport(chain: list[BaseException], exc: BaseException, timeout: float | None):
    found = _first(chain, ssl.SSLCertVerificationError)
    if found:
        return N_(
            "the server's certificate is not trusted: %(reason)s", reason=found.verify_message
        ), N_(
            "If the server uses a private CA, add that CA's root certificate in {ca_file}; "
            "otherwise install a certificate from a public CA (with its intermediates) on the "
            "server."
        )
    if _timed_out(chain):
        what = (
            N_("no answer after %(seconds)s s: the connection timed out", seconds=f"{timeout:g}")
            if timeout
            else N_("no answer: the connection timed out")
        )
        return what, N_(
            "A firewall may drop the traffic, the port may be blocked by the network provider, "
            "this machine may have no route to the Internet, or the server is overloaded. "
            "Check outbound access to this host and port."
        )
    found = _first(chain, ConnectionRefusedError)
    if found:
        return N_("connection refused: nothing accepts connections on that port"), N_(
            "Check the port number and that the service is running; a firewall may also "
            "reject the connection."
        )
    found = _first(chain, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)
    if found:
        return N_("the server closed the connection"), N_(
            "The server or a firewall/proxy dropped the connection; check that the port and "
            "the security mode (implicit TLS or STARTTLS) match, and the server's logs."
        )
    found = _first(chain, ssl.SSLError)
    if found:
        return N_("the TLS handshake failed (%(reason)s)", reason=found.reason or found), N_(
            "Check that the port speaks TLS in the mode chosen (implicit TLS or STARTTLS) and "
            "that client and server share a TLS version."
        )
    found = next((e for e in chain if isinstance(e, OSError) and e.errno in _UNREACHABLE), None)
    if found:
        return N_("no route to the server: this machine cannot reach its network"), N_(
            "This machine has no route to that address (no Internet access, or a missing "
            "route/VPN). Check its network connection and proxy settings."
        )
    found = _first(chain, OSError)
    if found:
        text = found.strerror or str(found) or found.__class__.__name__
        return N_("network error: %(error)s", error=text), N_(
            "Check this machine's network connection and firewall."
        )
    return N_("unexpected error: %(error)s", error=exc.__class__.__name__), N_(
        "The test stopped on an error it does not know; run it again, and report it if it persists."
    )


_UNREACHABLE = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL}


def _first(chain, *types):
    return next((e for e in chain if isinstance(e, types)), None)


def _timed_out(chain) -> bool:
    names = {"ConnectTimeoutError", "ReadTimeoutError", "Timeout", "ConnectTimeout", "ReadTimeout"}
    return any(
        isinstance(e, TimeoutError | socket.timeout) or type(e).__name__ in names for e in chain
    )


def _host_of(chain) -> str | None:
    """The host urllib3 failed to resolve (``NameResolutionError`` keeps its connection)."""
    for item in chain:
        conn = getattr(item, "conn", None)
        if conn is not None and getattr(conn, "host", None):
            return conn.host
        pool_host = getattr(getattr(item, "pool", None), "host", None)
        if pool_host:
            return pool_host
    return None


def _dns_name(exc: BaseException) -> str | None:
    names = getattr(exc, "kwargs", {}).get("qnames") or []
    return names[0].to_text(True) if names else None


def _dns_reason(exc: BaseException) -> str:
    if isinstance(exc, dns.exception.Timeout):
        return N_("timed out")
    if isinstance(exc, dns.resolver.NoNameservers):
        return N_("the DNS server refused or failed (SERVFAIL/REFUSED)")
    return ""
