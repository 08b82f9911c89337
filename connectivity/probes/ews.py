"""EWS probe: endpoint and certificate, OAuth token, GetFolder(Inbox), and the Analyzer's
"Service Account Access" test (impersonate a mailbox, create, read and delete an item).

Built on ``connectivity.ews`` (exchangelib helpers).  exchangelib's connections go through
netguard (``guard_http_clients``): the EWS host is pinned to the address vetted in the first
step, and the token host is resolved once and vetted.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from exchangelib import Message
from exchangelib import errors as exerr

from connectivity import ews as ewslib
from connectivity import netguard
from connectivity.i18n import N_
from connectivity.netguard import Resolver
from connectivity.probes import tls as tlsmod
from connectivity.probes.core import (
    InvalidInput,
    OnStep,
    ProbeResult,
    Recorder,
    Status,
    explain_exception,
    reject_crlf,
)
from connectivity.probes.http import Client, tls_steps
from connectivity.probes.tcp import CONNECT, RESOLVE

TOKEN = N_("Get OAuth token")
GETFOLDER = N_("GetFolder Inbox")
SA_ACCESS = N_("Service account: impersonate mailbox")
SA_CREATE = N_("Service account: create item")
SA_READ = N_("Service account: read item")
SA_DELETE = N_("Service account: delete item")
SA_STEPS = [SA_ACCESS, SA_CREATE, SA_READ, SA_DELETE]

IMPERSONATION_HINT = N_(
    "Service Account Does Not Have Impersonation Rights. Exchange Online: grant the application "
    "`full_access_as_app` or, scoped, RBAC for Applications (New-ManagementRoleAssignment -App "
    '<id> -Role "Application EWS.AccessAsApp" -CustomResourceScope <scope>; check with '
    "Test-ServicePrincipalAuthorization); the ApplicationImpersonation role was removed in "
    "February 2025. Exchange Server: New-ManagementRoleAssignment -Role ApplicationImpersonation "
    "-User <service account>."
)
ACCESS_DENIED_HINT = N_(
    "EWS may be disabled for the organisation or the mailbox (EWSEnabled must be True or null at "
    "both levels), or the application is not in EWSAllowedAppIDs. Exchange Online starts "
    "disabling EWS on 2026-10-01 and retires it on 2027-04-01 (MC1227454): plan the move to "
    "Microsoft Graph."
)
UNAUTHORIZED_HINT = N_(
    "401: the credential was refused. Exchange Online accepts only OAuth (Basic auth was retired "
    "in 2022): check the token's audience (https://outlook.office365.com), the "
    "full_access_as_app application permission with admin consent, and the client secret."
)


def _hints(exc: BaseException):
    if isinstance(exc, ewslib.TokenError):
        return N_("token endpoint refused: %(error)s", error=exc), N_(
            "Check the client id and secret, the tenant, and that the application has the "
            "full_access_as_app (Office 365 Exchange Online) permission with admin consent."
        )
    if isinstance(exc, exerr.ErrorImpersonateUserDenied | exerr.ErrorImpersonationDenied):
        return N_("%(error)s: %(reason)s", error=exc.__class__.__name__, reason=exc), (
            IMPERSONATION_HINT
        )
    if isinstance(exc, exerr.UnauthorizedError):
        return N_("401 Unauthorized: %(reason)s", reason=exc), UNAUTHORIZED_HINT
    if isinstance(exc, exerr.ErrorAccessDenied):
        return f"ErrorAccessDenied: {exc}", ACCESS_DENIED_HINT
    if isinstance(exc, exerr.ErrorNonExistentMailbox | exerr.ErrorInvalidSmtpAddress):
        return N_("%(error)s: %(reason)s", error=exc.__class__.__name__, reason=exc), N_(
            "The mailbox address is unknown to the server."
        )
    if isinstance(exc, exerr.ErrorServerBusy):
        back_off = getattr(exc, "back_off", None)
        return N_(
            "ErrorServerBusy (back off %(seconds)s s): %(reason)s", seconds=back_off, reason=exc
        ), N_(  # fmt: skip
            "EWS throttling: wait BackOffMilliseconds before retrying and keep at most 27 "
            "concurrent requests per account (EWSMaxConcurrency)."
        )
    if isinstance(exc, exerr.TransportError):
        return N_("transport error: %(reason)s", reason=exc), N_(
            "Network or TLS problem reaching EWS; see steps above."
        )
    if isinstance(exc, exerr.EWSError):
        return N_("%(error)s: %(reason)s", error=exc.__class__.__name__, reason=exc), N_(
            "EWS returned an error; see the detail."
        )
    return explain_exception(exc)


def probe_ews(
    mailbox: str,
    *,
    url: str,
    username: str | None = None,
    password: str | None = None,
    token: str | None = None,
    token_url: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    tenant_id: str | None = None,
    impersonate: str | None = None,
    ca_file: str | None = None,
    timeout: float = 10.0,
    allow_link_local: bool = False,
    resolver: Resolver | None = None,
    on_step: OnStep | None = None,
    auth: str = "basic",
) -> ProbeResult:
    """GetFolder(Inbox) of ``mailbox``; with ``impersonate``, the Service Account Access test.

    Credentials: app-only OAuth (``token_url`` + ``client_id`` + ``client_secret``, always
    impersonating), a ready bearer ``token`` (app-only), or ``username`` + ``password``
    (Exchange Server, sent as ``auth`` says: ``"basic"`` or ``"ntlm"``)."""
    for label, value in (("mailbox", mailbox), ("impersonate", impersonate),
                         ("username", username), ("client id", client_id)):  # fmt: skip
        reject_crlf(label, value)
    if urlsplit(url).scheme != "https" or not urlsplit(url).hostname:
        raise InvalidInput(N_("the EWS URL must be https://host/EWS/Exchange.asmx"))
    if auth not in ewslib.PASSWORD_AUTH:
        raise InvalidInput(N_("the EWS sign-in must be basic or ntlm"))
    app_only = bool(token_url or token)
    if token_url and not (client_id and client_secret):
        raise InvalidInput("--token-url needs --client-id and a client secret")
    if not app_only and not username:
        raise InvalidInput(N_("EWS needs OAuth (token URL + client id + secret) or a username"))
    host = urlsplit(url).hostname
    plan = [RESOLVE, CONNECT, tlsmod.HANDSHAKE, *tlsmod.CERT_STEPS]
    plan += [TOKEN, GETFOLDER] + (SA_STEPS if impersonate else [])
    secrets = [password, token, client_secret]
    rec = Recorder("ews", url, plan, on_step, secrets, timeout=timeout)
    client = Client(
        ca_file=ca_file, timeout=timeout, allow_link_local=allow_link_local, resolver=resolver
    )
    with rec:
        tls_steps(rec, url, ca_file=ca_file, timeout=timeout, allow_link_local=allow_link_local,
                  resolver=resolver, client=client)  # fmt: skip
        pins = {host: client.pins[host.lower()][0]}
        guard = netguard.guard_http_clients(
            pins, allow_link_local=allow_link_local, resolver=resolver, timeout=timeout
        )
        with guard:
            credentials = _credentials(
                rec, token_url, client_id, client_secret, tenant_id, token, username, password,
                ca_file, timeout, auth,
            )  # fmt: skip
            with rec.step(GETFOLDER, hints=_hints) as s:
                tlsmod.withhold_credential_unless_safe(s, "tls", True, rec)
                account = ewslib.build_account(
                    mailbox, credentials, ews_url=url, impersonation=app_only or None,
                    ca_file=ca_file, timeout=timeout, auth=auth,
                )  # fmt: skip
                inbox = account.inbox
                inbox.refresh()
                s.detail = (
                    N_(
                        "%(mailbox)s: Inbox has %(total)s items (%(unread)s unread) via "
                        "impersonation",
                        mailbox=mailbox,
                        total=inbox.total_count,
                        unread=inbox.unread_count,
                    )
                    if app_only
                    else N_(
                        "%(mailbox)s: Inbox has %(total)s items (%(unread)s unread)",
                        mailbox=mailbox,
                        total=inbox.total_count,
                        unread=inbox.unread_count,
                    )
                )
            if impersonate:
                _service_account(rec, impersonate, credentials, url, ca_file, timeout)
    return rec.result


def _credentials(rec, token_url, client_id, client_secret, tenant_id, token, username, password,
                 ca_file, timeout, auth="basic"):  # fmt: skip
    if token_url:
        with rec.step(TOKEN, hints=_hints) as s:
            tlsmod.withhold_credential_unless_safe(s, "tls", True, rec)
            data = ewslib.fetch_token(
                token_url, client_id, client_secret, ca_file=ca_file, timeout=timeout
            )
            rec.add_secret(data.get("access_token"))
            s.detail = N_(
                "client credentials for %(client)s: %(type)s token, expires in %(seconds)s s",
                client=client_id,
                type=data.get("token_type", "Bearer"),
                seconds=int(float(data.get("expires_in", 0))),
            )
            return ewslib.oauth_credentials(
                token_url, client_id, client_secret, tenant_id=tenant_id, token=data
            )
    if token:
        rec.record(TOKEN, Status.SKIP, N_("bearer token given"))
        # The token is used as given; there is no token URL to refresh it from.
        return ewslib.oauth_credentials(
            "https://invalid.invalid/token", client_id or "-", "-", token=token
        )
    if auth == "ntlm":
        rec.record(TOKEN, Status.SKIP, N_("NTLM authentication as %(user)s", user=username))
    else:
        rec.record(TOKEN, Status.SKIP, N_("Basic authentication as %(user)s", user=username))
    return ewslib.basic_credentials(username, password or "")


def _service_account(rec, target, credentials, url, ca_file, timeout) -> None:
    with rec.step(SA_ACCESS, hints=_hints) as s:
        account = ewslib.build_account(
            target, credentials, ews_url=url, impersonation=True, ca_file=ca_file,
            timeout=timeout,
        )  # fmt: skip
        drafts = account.drafts
        drafts.refresh()
        s.detail = N_("impersonating %(mailbox)s: Drafts has %(total)s items", mailbox=target,
                      total=drafts.total_count)  # fmt: skip
    item = None
    try:
        with rec.step(SA_CREATE, hints=_hints) as s:
            item = Message(
                account=account,
                folder=account.drafts,
                subject="Exchange Interop Portal service account test",
                body="Created and deleted by a connectivity probe.",
            )
            item.save()
            s.detail = N_("created a draft in %(mailbox)s (id …%(id)s)", mailbox=target,
                          id=item.id[-12:])  # fmt: skip
        with rec.step(SA_READ, hints=_hints) as s:
            fetched = account.drafts.get(id=item.id)
            if fetched.subject != item.subject:
                s.fail(N_("read back a different item"), N_("Unexpected server behaviour."))
            s.detail = N_("read back: %(subject)s", subject=repr(fetched.subject))
    finally:
        if item is not None and item.id:
            with rec.step(SA_DELETE, fatal=False, hints=_hints) as s:
                item.delete()
                s.detail = N_("deleted (hard delete)")
