"""EWS steps the Skype for Business / Lync and site-mailbox checks need, composed from the
connectivity engine: the EWS endpoint's certificate (tls_steps), the token or Basic credential
(the EWS probe's own credential step), then GetUserOofSettings and GetUserAvailability as the
integration's account reads them for a test mailbox.

The server's version comes back in every EWS answer (ServerVersionInfo); it is handed to the
caller so an Exchange Server tenant's version is recorded when a check runs.
"""

from datetime import timedelta
from urllib.parse import urlsplit

from exchangelib import EWSDateTime, EWSTimeZone, Identity
from exchangelib.credentials import BaseOAuth2Credentials

from connectivity import ews as ewslib
from connectivity import netguard
from connectivity.i18n import N_
from connectivity.probes import tls as tlsmod
from connectivity.probes.core import InvalidInput, Recorder, reject_crlf
from connectivity.probes.ews import GETFOLDER, TOKEN, _credentials, _hints
from connectivity.probes.http import Client, tls_steps
from connectivity.probes.tcp import CONNECT, RESOLVE

OOF = N_("GetUserOofSettings")
AVAILABILITY = N_("GetUserAvailability")


def _version_of(account) -> tuple[int, int, int] | None:
    build = getattr(getattr(account, "version", None), "build", None)
    if build is None:
        return None
    return build.major_version, build.minor_version, build.major_build


def probe_ews_calendar(
    mailbox: str, *, url: str, operations=("oof", "availability"), on_version=None, token=None,
    token_url=None, client_id=None, client_secret=None, username=None, password=None,
    ca_file=None, timeout=10.0, allow_link_local=False, resolver=None, on_step=None,
):  # fmt: skip
    """Out-of-office and free/busy of ``mailbox`` (or GetFolder for a site mailbox)."""
    reject_crlf("mailbox", mailbox)
    if urlsplit(url).scheme != "https" or not urlsplit(url).hostname:
        raise InvalidInput(N_("the EWS URL must be https://host/EWS/Exchange.asmx"))
    names = {"oof": OOF, "availability": AVAILABILITY, "getfolder": GETFOLDER}
    plan = [RESOLVE, CONNECT, tlsmod.HANDSHAKE, *tlsmod.CERT_STEPS, TOKEN]
    plan += [names[op] for op in operations]
    rec = Recorder("ews", url, plan, on_step, [password, token, client_secret], timeout=timeout)
    client = Client(ca_file=ca_file, timeout=timeout, allow_link_local=allow_link_local,
                    resolver=resolver)  # fmt: skip
    host = urlsplit(url).hostname
    app_only = bool(token_url or token)
    with rec:
        tls_steps(rec, url, ca_file=ca_file, timeout=timeout, allow_link_local=allow_link_local,
                  resolver=resolver, client=client)  # fmt: skip
        pins = {host: client.pins[host.lower()][0]}
        with netguard.guard_http_clients(pins, allow_link_local=allow_link_local,
                                         resolver=resolver, timeout=timeout):  # fmt: skip
            credentials = _credentials(rec, token_url, client_id, client_secret, None, token,
                                       username, password, ca_file, timeout)  # fmt: skip
            if isinstance(credentials, BaseOAuth2Credentials):
                # Protocol-level calls (GetServerTimeZones, GetUserAvailability) carry no
                # account: exchangelib impersonates the credentials' identity for them.
                credentials.identity = Identity(primary_smtp_address=mailbox)
            account = ewslib.build_account(mailbox, credentials, ews_url=url,
                                           impersonation=app_only or None, ca_file=ca_file,
                                           timeout=timeout)  # fmt: skip
            for op in operations:
                with rec.step(names[op], hints=_hints) as s:
                    s.detail = _run(account, op, mailbox)
            version = _version_of(account)
            if version and on_version:
                on_version(*version)
    return rec.result


def _run(account, op: str, mailbox: str) -> str:
    if op == "oof":
        oof = account.oof_settings
        return N_("%(mailbox)s: automatic replies are %(state)s", mailbox=mailbox,
                  state=str(oof.state))  # fmt: skip
    if op == "availability":
        tz = EWSTimeZone("UTC")
        start = EWSDateTime.now(tz).replace(minute=0, second=0, microsecond=0)
        views = list(account.protocol.get_free_busy_info(
            accounts=[(account, "Required", False)], start=start, end=start + timedelta(days=1),
        ))  # fmt: skip
        for view in views:
            if isinstance(view, Exception):
                raise view
        events = sum(len(v.calendar_events or []) for v in views)
        return N_("%(mailbox)s: free/busy for the next 24 hours read (%(n)s busy periods)",
                  mailbox=mailbox, n=events)  # fmt: skip
    inbox = account.inbox
    inbox.refresh()
    return N_("%(mailbox)s: Inbox has %(total)s items", mailbox=mailbox, total=inbox.total_count)
