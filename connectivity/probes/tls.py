"""TLS probe and the certificate checks shared by every TLS-speaking probe.

The handshake is done *without* verification so that the peer chain can always be fetched; the
chain is then evaluated here with ``cryptography``, one named step per kind of problem, as the
Remote Connectivity Analyzer does: protocol version, certificate name (CN/SAN), validity period,
chain trust (telling a missing intermediate apart from an untrusted CA).
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import socket
import ssl
import warnings

from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtensionOID, NameOID
from cryptography.x509.verification import PolicyBuilder, VerificationError

from connectivity.i18n import N_, NN_
from connectivity.netguard import Resolver
from connectivity.probes.core import (
    OnStep,
    ProbeResult,
    Recorder,
    Status,
    StepFailed,
    StepWarned,
    validate_host,
    validate_port,
)
from connectivity.probes.tcp import CONNECT, RESOLVE, open_connection
from connectivity.probes.truststore import (  # noqa: F401 - default_ca_file, load_trust: API
    default_ca_file,
    load_trust,
    trust_parts,
)
from connectivity.probes.truststore import self_issued as _self_issued
from connectivity.tlspolicy import verification_enabled, verification_off  # noqa: F401

HANDSHAKE = N_("TLS handshake")
VERSION = N_("TLS protocol version")
NAME = N_("Certificate name")
VALIDITY = N_("Certificate validity")
CHAIN = N_("Certificate chain")
CERT_STEPS = [VERSION, NAME, VALIDITY, CHAIN]

EXPIRY_WARN_DAYS = 30
OLD_PROTOCOLS = {"SSLv2", "SSLv3", "TLSv1", "TLSv1.1"}

NOT_ENFORCED_HINT = N_(
    "Certificate verification is turned off for this target, so this problem did not stop the "
    "test. Fix it and turn verification back on: without it, connections can be intercepted."
)


def _certificate_problem(detail: str, hint: str) -> None:
    if verification_enabled():
        raise StepFailed(detail, hint)
    raise StepWarned(N_("not enforced: %(detail)s", detail=detail), NOT_ENFORCED_HINT)


# -- handshake ----------------------------------------------------------------------------------


@functools.cache
def probe_context() -> ssl.SSLContext:
    """A client context that accepts anything, so old protocols and bad chains can be *reported*.

    One context for every probe in the process: building one costs about as much CPU as a
    handshake.  Sharing it changes nothing a probe reports: a client context keeps no sessions
    (nothing passes ``session=``), so every connection does a full handshake and its certificate
    chain is checked by :func:`evaluate` each time.  Callers must not change it.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # verification is done by evaluate_chain(), step by step
    try:
        with warnings.catch_warnings():  # TLSv1 is deprecated: we only want to *detect* it
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):
        pass
    return ctx


def sni_name(host: str) -> str | None:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host
    return None


def peer_chain(sock: ssl.SSLSocket | ssl.SSLObject) -> list[x509.Certificate]:
    """The certificates the server sent, leaf first (unverified)."""
    obj = getattr(sock, "_sslobj", sock)
    getter = getattr(obj, "get_unverified_chain", None)
    if getter is not None:
        chain = getter() or []
        ders = [c.public_bytes(ssl._ssl.ENCODING_DER) for c in chain]  # noqa: SLF001
    else:  # pragma: no cover - very old Python: leaf only
        ders = [sock.getpeercert(binary_form=True)]
    return [x509.load_der_x509_certificate(d) for d in ders if d]


# -- helpers ------------------------------------------------------------------------------------


def _cn(name: x509.Name) -> str:
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else name.rfc4514_string()


def _san(cert: x509.Certificate) -> x509.SubjectAlternativeName | None:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None


def _ca_issuers_url(cert: x509.Certificate) -> str | None:
    try:
        aia = cert.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_INFORMATION_ACCESS)
    except x509.ExtensionNotFound:
        return None
    for desc in aia.value:
        if desc.access_method == AuthorityInformationAccessOID.CA_ISSUERS:
            return str(desc.access_location.value)
    return None


def _dns_match(pattern: str, host: str) -> bool:
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern.startswith("*."):
        head, _, rest = host.partition(".")
        return bool(head) and rest == pattern[2:] and "." in rest
    return pattern == host


def names_of(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    """(DNS names, IP addresses) from the SAN, or ([CN], []) when there is no SAN."""
    san = _san(cert)
    if san is None:
        cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return [str(a.value) for a in cns], []
    return san.get_values_for_type(x509.DNSName), [
        str(i) for i in san.get_values_for_type(x509.IPAddress)
    ]


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


# -- the checks ---------------------------------------------------------------------------------


def check_version(rec: Recorder, sock: ssl.SSLSocket) -> None:
    with rec.step(VERSION, fatal=False) as s:
        version = sock.version() or N_("unknown")
        cipher = sock.cipher()
        cipher_txt = (
            N_("%(cipher)s (%(bits)s bits)", cipher=cipher[0], bits=cipher[2])
            if cipher
            else N_("unknown cipher")
        )
        s.detail = N_("%(version)s, %(cipher)s", version=version, cipher=cipher_txt)
        if version in OLD_PROTOCOLS:
            s.warn(
                N_("%(version)s negotiated (%(cipher)s); TLS 1.2 or later is expected",
                   version=version, cipher=cipher_txt),
                N_("Enable TLS 1.2/1.3 on the server and disable TLS 1.0/1.1: Exchange Online "
                   "requires TLS 1.2 for SMTP AUTH and blocks TLS 1.0/1.1 for POP3/IMAP4 "
                   "(MC1293480, 2026-07-01 to 2026-12-31)."),
            )  # fmt: skip


def check_name(rec: Recorder, leaf: x509.Certificate, host: str) -> None:
    with rec.step(NAME, fatal=False) as s:
        dns_names, ips = names_of(leaf)
        has_san = _san(leaf) is not None
        shown = ", ".join(dns_names + ips) or N_("(none)")
        try:
            target_ip = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            target_ip = None
        if target_ip is not None:
            matched = any(ipaddress.ip_address(i) == target_ip for i in ips)
        else:
            matched = any(_dns_match(p, host) for p in dns_names)
        if not matched:
            _certificate_problem(
                N_("name mismatch: %(host)s is not in the certificate (names: %(names)s)",
                   host=host, names=shown),
                N_("Install a certificate whose subjectAltName includes %(host)s, or connect "
                   "using one of the names the certificate lists.", host=host),
            )  # fmt: skip
        s.detail = N_("%(host)s matches (%(names)s)", host=host, names=shown)
        if not has_san:
            s.warn(
                N_("%(host)s matches the subject CN only; the certificate has no "
                   "subjectAltName", host=host),
                N_("Reissue the certificate with a subjectAltName: current clients ignore the "
                   "CN."),
            )  # fmt: skip


def check_validity(
    rec: Recorder, chain: list[x509.Certificate], now: dt.datetime | None = None
) -> None:
    now = now or dt.datetime.now(dt.UTC)
    with rec.step(VALIDITY, fatal=False) as s:
        for index, cert in enumerate(chain):
            who = (
                N_("certificate")
                if index == 0
                else N_("chain certificate '%(name)s'", name=_cn(cert.subject))
            )
            before, after = _utc(cert.not_valid_before_utc), _utc(cert.not_valid_after_utc)
            if now < before:
                _certificate_problem(
                    N_("%(who)s is not yet valid: valid from %(date)s UTC",
                       who=who, date=f"{before:%Y-%m-%d %H:%M}"),
                    N_("Check the clock of this machine and of the server (a system-time "
                       "error), or wait until the certificate's start date / reissue it."),
                )  # fmt: skip
            if now > after:
                days = (now - after).days
                _certificate_problem(
                    NN_("%(who)s expired on %(date)s (%(n)s day ago)",
                        "%(who)s expired on %(date)s (%(n)s days ago)",
                        days, who=who, date=f"{after:%Y-%m-%d}"),
                    N_("Renew the certificate and install it on the server (and every node "
                       "behind the load balancer)."),
                )  # fmt: skip
        leaf_after = _utc(chain[0].not_valid_after_utc)
        days_left = (leaf_after - now).days
        s.detail = N_("valid until %(date)s (%(days)s days left)",
                      date=f"{leaf_after:%Y-%m-%d}", days=days_left)  # fmt: skip
        if days_left < EXPIRY_WARN_DAYS:
            s.warn(
                N_("certificate expires in %(days)s days (on %(date)s)",
                   days=days_left, date=f"{leaf_after:%Y-%m-%d}"),
                N_("Renew the certificate soon: fewer than %(days)s days remain.",
                   days=EXPIRY_WARN_DAYS),
            )  # fmt: skip


def _verification_time(chain: list[x509.Certificate], now: dt.datetime) -> dt.datetime:
    """'now' if every sent certificate is valid now, else a moment inside their common window,
    so that expiry (reported by its own step) does not mask a trust problem."""
    lo = max(_utc(c.not_valid_before_utc) for c in chain)
    hi = min(_utc(c.not_valid_after_utc) for c in chain)
    if lo <= now <= hi:
        return now
    if lo <= hi:
        return lo + (hi - lo) / 2
    return now


def _verifier_subject(leaf: x509.Certificate):
    dns_names, ips = names_of(leaf)
    if _san(leaf) is None:
        return None
    if dns_names:
        name = dns_names[0]
        return x509.DNSName("probe" + name[1:] if name.startswith("*.") else name)
    if ips:
        return x509.IPAddress(ipaddress.ip_address(ips[0]))
    return None


def _try_verify(leaf, intermediates, store, subject, when):
    builder = PolicyBuilder().store(store).time(when.replace(tzinfo=None))
    verifier = builder.build_server_verifier(subject)
    return verifier.verify(leaf, list(intermediates))


def check_chain(
    rec: Recorder,
    chain: list[x509.Certificate],
    ca_file: str | None = None,
    now: dt.datetime | None = None,
) -> None:
    now = now or dt.datetime.now(dt.UTC)
    with rec.step(CHAIN, fatal=False) as s:
        source = N_("CA file %(file)s", file=ca_file) if ca_file else N_("the system trust store")
        roots, bundle_intermediates, store = trust_parts(ca_file)
        leaf, sent = chain[0], chain[1:]
        subject = _verifier_subject(leaf)
        if subject is None:
            _certificate_problem(
                N_("certificate has no usable subjectAltName, so no client can validate its "
                   "chain"),
                N_("Reissue the certificate with a subjectAltName listing the server's names."),
            )  # fmt: skip
        when = _verification_time(chain, now)
        try:
            built = _try_verify(leaf, sent, store, subject, when)
        except VerificationError as exc:
            error = str(exc)
        else:
            path = " → ".join(_cn(c.subject) for c in built)
            s.detail = N_("trusted via %(source)s: %(path)s", source=source, path=path)
            rec.context["tls_trusted"] = True
            return

        # Diagnose: follow the chain the server sent as far as it goes.
        top = leaf
        remaining = list(sent)
        while True:
            parent = next((c for c in remaining if c.subject == top.issuer), None)
            if parent is None or _self_issued(top):
                break
            remaining.remove(parent)
            top = parent
        root_subjects = {r.subject for r in roots}
        issuer = _cn(top.issuer)
        if _self_issued(top) and top.subject not in root_subjects:
            what = (
                N_("self-signed certificate")
                if top is leaf
                else N_("root CA '%(issuer)s'", issuer=issuer)
            )
            _certificate_problem(
                N_("untrusted CA: the chain ends at %(what)s, which is not trusted by "
                   "%(source)s", what=what, source=source),
                N_("Use a certificate from a CA your clients trust, or (for a private CA) pass "
                   "its root in {ca_file} and deploy it to every client."),
            )  # fmt: skip
        if top.issuer not in root_subjects:
            if bundle_intermediates:
                try:
                    _try_verify(leaf, sent + bundle_intermediates, store, subject, when)
                except VerificationError:
                    pass
                else:
                    _certificate_problem(
                        N_("missing intermediate: the server did not send the intermediate "
                           "certificate '%(issuer)s'", issuer=issuer),
                        N_("Install the full chain (certificate plus intermediates) on the "
                           "server; clients that do not have the intermediate cached fail."),
                    )  # fmt: skip
            aia = _ca_issuers_url(top)
            if len(chain) == 1 and aia:
                _certificate_problem(
                    N_("missing intermediate: the server sent only its own certificate; its "
                       "issuer '%(issuer)s' is not a trusted root (issuer published at %(url)s)",
                       issuer=issuer, url=aia),
                    N_("Install the intermediate certificate(s) on the server alongside the "
                       "server certificate so it sends the full chain."),
                )  # fmt: skip
            _certificate_problem(
                NN_("untrusted CA: issuer '%(issuer)s' is not trusted by %(source)s (server "
                    "sent %(n)s certificate)",
                    "untrusted CA: issuer '%(issuer)s' is not trusted by %(source)s (server "
                    "sent %(n)s certificates)", len(chain), issuer=issuer, source=source),
                N_("If the issuer is a private CA, add its root in {ca_file}; if it is an "
                   "intermediate CA, configure the server to send it with the certificate."),
            )  # fmt: skip
        _certificate_problem(
            N_("chain validation failed: %(error)s", error=error),
            N_("The chain reaches a trusted root but is not acceptable (signature, key usage "
               "or CA constraints); reissue the certificate from a properly configured CA."),
        )  # fmt: skip


def evaluate(
    rec: Recorder,
    sock: ssl.SSLSocket,
    host: str,
    ca_file: str | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Record the four certificate steps for an established TLS connection."""
    rec.context["tls_trusted"] = False
    check_version(rec, sock)
    chain = peer_chain(sock)
    if not chain:
        for name in (NAME, VALIDITY, CHAIN):
            rec.record(
                name, Status.FAIL, N_("the server sent no certificate"),
                N_("Configure a certificate."),
            )  # fmt: skip
        return
    check_name(rec, chain[0], host)
    check_validity(rec, chain, now)
    check_chain(rec, chain, ca_file, now)
    rec.context["tls_ok"] = not any(rec.failed(n) for n in CERT_STEPS)


def tls_ok(rec: Recorder) -> bool:
    """True when TLS is established and every certificate step passed (warnings allowed)."""
    return bool(rec.context.get("tls_ok"))


def withhold_credential_unless_safe(step, security: str, encrypted: bool, rec: Recorder) -> None:
    """Fail ``step`` (before anything is sent) when a credential would travel unprotected."""
    if security != "none" and not encrypted:
        step.fail(
            N_("credential not sent: the connection is not encrypted although security "
               "'%(security)s' was requested", security=security),
            N_("The server offered no usable TLS, so the credential was withheld. Enable TLS "
               "(STARTTLS) on the server; never send credentials in clear text."),
        )  # fmt: skip
    if encrypted and not tls_ok(rec):
        step.fail(
            N_("credential not sent: the server certificate did not pass the checks above"),
            N_("Fix the certificate problems reported above (or add the right CA in "
               "{ca_file}): sending a credential to an unverified server risks disclosure."),
        )  # fmt: skip


def wrap(rec: Recorder, sock: socket.socket, host: str, timeout: float) -> ssl.SSLSocket:
    """The 'TLS handshake' step on a connected socket."""
    with rec.step(HANDSHAKE) as s:
        sock.settimeout(timeout)
        tls = probe_context().wrap_socket(sock, server_hostname=sni_name(host))
        s.detail = N_("%(version)s established", version=tls.version())
    return tls


def probe_tls(
    host: str,
    port: int = 443,
    *,
    ca_file: str | None = None,
    timeout: float = 10.0,
    allow_link_local: bool = False,
    resolver: Resolver | None = None,
    on_step: OnStep | None = None,
) -> ProbeResult:
    validate_host(host)
    validate_port(port)
    plan = [RESOLVE, CONNECT, HANDSHAKE, *CERT_STEPS]
    rec = Recorder("tls", f"{host}:{port}", plan, on_step, timeout=timeout)
    with rec:
        sock = open_connection(
            rec, host, port, timeout=timeout, allow_link_local=allow_link_local, resolver=resolver
        )
        try:
            tls = wrap(rec, sock, host, timeout)
        except BaseException:
            sock.close()
            raise
        try:
            evaluate(rec, tls, host, ca_file)
        finally:
            tls.close()
    return rec.result
