"""DNS probe: A/AAAA, MX, the Autodiscover CNAME and the Autodiscover SRV record of a domain.

The resolver's name server and port are configurable (tests point it at a local server). An
explicitly given name server is vetted by netguard like any other target.
"""

from __future__ import annotations

import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver

from connectivity import netguard
from connectivity.explain import (
    NO_ANSWER_HINT,
    NXDOMAIN,
    PUBLIC_NAME,
    public_names_unresolvable,
    resolution_failure,
)
from connectivity.i18n import N_, join
from connectivity.probes.core import OnStep, ProbeResult, Recorder, validate_host

ADDRESSES = N_("A/AAAA records")
MX = N_("MX records")
AUTODISCOVER = "Autodiscover CNAME"
SRV = "Autodiscover SRV"


class _NoSuchDomain(Exception):
    pass


def make_resolver(
    nameserver: str | None = None,
    port: int = 53,
    timeout: float = 5.0,
    allow_link_local: bool = False,
) -> dns.resolver.Resolver:
    if nameserver:
        netguard.check_address(nameserver, allow_link_local=allow_link_local)
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [nameserver]
        resolver.port = port
    else:
        resolver = dns.resolver.Resolver()
    resolver.timeout = timeout
    resolver.lifetime = timeout
    return resolver


def _query(resolver: dns.resolver.Resolver, name: str, rdtype: str) -> list:
    """Records of one type; [] when the name exists without them; _NoSuchDomain for NXDOMAIN."""
    try:
        answer = resolver.resolve(name, rdtype, raise_on_no_answer=False, search=False)
    except dns.resolver.NXDOMAIN:
        raise _NoSuchDomain(name)
    return [r for r in (answer.rrset or [])]


def _hints_for(nameserver: str | None, port: int):
    """Step hints for DNS failures: whether a resolver answered "no" or nothing answered."""
    server = (
        N_("the DNS server %(server)s", server=f"{nameserver}:{port}")
        if nameserver
        else N_("this machine's DNS server")
    )

    def hints(exc: BaseException):
        if isinstance(exc, _NoSuchDomain):
            return resolution_failure(str(exc), NXDOMAIN)
        if isinstance(exc, dns.resolver.NoResolverConfiguration):
            return N_("this machine has no DNS server configured"), NO_ANSWER_HINT
        if isinstance(exc, dns.resolver.LifetimeTimeout | dns.exception.Timeout):
            return N_("%(server)s did not answer: the DNS query timed out", server=server), N_(
                "Nothing answered DNS queries in time: check that the server is reachable from "
                "this machine (UDP and TCP port 53, firewalls) and that this machine has network "
                "access; or correct {dns_server}."
            )
        if isinstance(exc, dns.resolver.NoNameservers):
            return N_(
                "%(server)s refused or failed to answer (REFUSED/SERVFAIL)", server=server
            ), N_(
                "The DNS server could not resolve this name: it may not be allowed to resolve "
                "public names, may have no Internet access, or the domain's own name servers are "
                "broken (delegation, DNSSEC). Try another resolver or correct {dns_server}."
            )
        if isinstance(exc, dns.exception.DNSException):
            return N_("DNS error: %(error)s", error=exc), N_("Check the DNS server and the zone.")
        return None

    return hints


def probe_dns(
    domain: str,
    *,
    nameserver: str | None = None,
    port: int = 53,
    timeout: float = 5.0,
    allow_link_local: bool = False,
    on_step: OnStep | None = None,
) -> ProbeResult:
    """The Analyzer's "Exchange DNS" checks for ``domain``."""
    validate_host(domain)
    domain = domain.rstrip(".").lower()
    plan = [ADDRESSES, MX, AUTODISCOVER, SRV]
    target = f"{domain} @{nameserver}:{port}" if nameserver else domain
    rec = Recorder("dns", target, plan, on_step, timeout=timeout)
    _hints = _hints_for(nameserver, port)
    with rec:
        with rec.step(ADDRESSES, hints=_hints) as s:
            resolver = make_resolver(nameserver, port, timeout, allow_link_local)
            try:
                addrs = [r.address for t in ("A", "AAAA") for r in _query(resolver, domain, t)]
            except _NoSuchDomain:
                # This machine's own resolver may know only an internal zone: ask it about a
                # public name before blaming the domain. A server the tenant names is taken
                # at its word (it may be an internal resolver on purpose).
                if not nameserver and not _resolves(resolver, PUBLIC_NAME):
                    s.fail(*public_names_unresolvable(domain))
                raise
            s.detail = f"{domain} → {', '.join(addrs)}" if addrs else ""
            if not addrs:
                s.warn(
                    N_("%(domain)s exists but has no A/AAAA record", domain=domain),
                    N_("Fine for a mail-only domain; the Autodiscover lookup of the root domain "
                       "(https://<domain>/autodiscover/...) will then be skipped by clients."),
                )  # fmt: skip

        with rec.step(MX, fatal=False, hints=_hints) as s:
            mx = sorted(_query(resolver, domain, "MX"), key=lambda r: r.preference)
            if not mx:
                s.fail(
                    N_("no MX records for %(domain)s", domain=domain),
                    N_("Publish an MX record; for Exchange Online it is "
                       "<domain>-<tld>.mail.protection.outlook.com (see the admin center's DNS "
                       "records for the domain)."),
                )  # fmt: skip
            s.detail = ", ".join(f"{r.preference} {r.exchange.to_text(True)}" for r in mx)

        autodiscover_host = f"autodiscover.{domain}"
        with rec.step(AUTODISCOVER, fatal=False, hints=_hints) as s:
            found = _autodiscover_host(resolver, autodiscover_host)
            rec.context["autodiscover_host"] = found
            if found is None:
                s.warn(
                    N_("%(host)s does not exist", host=autodiscover_host),
                    N_("Create a CNAME autodiscover.<domain> → autodiscover.outlook.com (Exchange "
                       "Online), or an A record to the Client Access server (on-premises)."),
                )  # fmt: skip
            else:
                s.detail = found

        srv_name = f"_autodiscover._tcp.{domain}"
        with rec.step(SRV, fatal=False, hints=_hints) as s:
            try:
                srv = sorted(
                    _query(resolver, srv_name, "SRV"), key=lambda r: (r.priority, -r.weight)
                )
            except _NoSuchDomain:
                srv = []
            if srv:
                s.detail = join(", ", (
                    N_("%(target)s (priority %(priority)s, weight %(weight)s)",
                       target=f"{r.target.to_text(True)}:{r.port}", priority=r.priority,
                       weight=r.weight)
                    for r in srv
                ))  # fmt: skip
            elif rec.context.get("autodiscover_host"):
                s.warn(
                    N_("no SRV record %(name)s", name=srv_name),
                    N_("Optional while autodiscover.<domain> resolves; clients use SRV as the "
                       "last fallback (0 0 443 <autodiscover host>)."),
                )  # fmt: skip
            else:
                s.fail(
                    N_("missing Autodiscover SRV record %(name)s, and no autodiscover host",
                       name=srv_name),
                    N_("Clients cannot find Autodiscover: publish autodiscover.<domain> (CNAME/A) "
                       "or an SRV record %(name)s 0 0 443 <autodiscover host>.", name=srv_name),
                )  # fmt: skip
    return rec.result


def _resolves(resolver: dns.resolver.Resolver, name: str) -> bool:
    """Whether ``resolver`` gives ``name`` an address (any DNS failure counts as no)."""
    try:
        answer = resolver.resolve(name, "A", raise_on_no_answer=False, search=False)
    except dns.exception.DNSException:
        return False
    return bool(answer.rrset)


def _autodiscover_host(resolver: dns.resolver.Resolver, name: str) -> str | None:
    """'name → CNAME target → addresses', or None when the name does not exist."""
    try:
        cnames = _query(resolver, name, "CNAME")
    except _NoSuchDomain:
        return None
    parts = [name]
    if cnames:
        parts.append(f"CNAME {cnames[0].target.to_text(True)}")
    try:
        addrs = [r.address for t in ("A", "AAAA") for r in _query(resolver, name, t)]
    except _NoSuchDomain:
        addrs = []
    if addrs:
        parts.append(", ".join(addrs))
    elif not cnames:
        return None
    return " → ".join(parts)
