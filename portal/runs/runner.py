"""Turn a tenant (or an ad-hoc form) into one engine probe call, and run it.

The engine (``connectivity.probes``) knows nothing of Django; this module is the bridge: it picks
the endpoints and credentials, writes a tenant's CA bundle to a temporary file, gets OAuth
tokens from the tenant's own authority, and streams each finished step into the run's row.
"""

import contextlib
import hashlib
import os
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.utils import timezone

from connectivity import probes
from connectivity.ews import CABundleAdapter, TokenError, fetch_token
from connectivity.oauth import fetch_token_with_certificate
from connectivity.probes.core import InvalidInput
from connectivity.tlspolicy import verification_off
from portal.runs.models import Probe, ProbeRun, RunStatus
from portal.tenants.models import Tenant


class CannotRun(Exception):
    """The tenant lacks what this probe needs (say, no test mailbox); shown to the user."""


def ca_file_for(tenant: Tenant | None) -> str | None:
    """A file holding the tenant's CA bundle, named by its content so it never goes stale.

    exchangelib's HTTP adapter keeps the CA file per host for the whole process, so the file
    must outlive the run; a tenant without a bundle drops any earlier registration instead.
    """
    if tenant is None:
        return None
    if not tenant.ca_bundle:
        for url in (tenant.endpoints()[k] for k in ("ews_url", "mapi_url", "token_url")):
            if url:
                CABundleAdapter.forget(url)
        if tenant.autodiscover_url:
            CABundleAdapter.forget(tenant.autodiscover_url)
        return None
    digest = hashlib.sha256(tenant.ca_bundle.encode()).hexdigest()[:32]
    folder = Path(settings.VAR_DIR) / "ca-bundles"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{digest}.pem"
    if not path.exists():
        tmp = folder / f".{digest}.{os.getpid()}.{threading.get_ident()}.tmp"
        tmp.write_text(tenant.ca_bundle)
        os.replace(tmp, path)  # atomic: concurrent runs never read a half-written file
    return str(path)


def _host_port(url: str, default: int = 443) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or default


def app_token(tenant: Tenant, ep: dict, ca_file) -> str:
    """An app-only access token from the tenant's own authority (secret or certificate)."""
    try:
        if tenant.auth_method == Tenant.Auth.OAUTH_CERT:
            data = fetch_token_with_certificate(
                ep["token_url"], tenant.client_id, tenant.certificate_pem, scope=ep["scope"],
                ca_file=ca_file, timeout=settings.PROBE_TIMEOUT,
            )  # fmt: skip
        else:
            data = fetch_token(
                ep["token_url"], tenant.client_id, tenant.client_secret, scope=ep["scope"],
                ca_file=ca_file, timeout=settings.PROBE_TIMEOUT,
            )  # fmt: skip
        return data["access_token"]
    except TokenError as exc:
        raise CannotRun(f"The token endpoint refused the application: {exc}")
    except requests.exceptions.SSLError as exc:
        raise CannotRun(f"The token endpoint's certificate is not trusted: {exc}")
    except requests.RequestException as exc:
        raise CannotRun(f"The token endpoint could not be reached: {exc}")


def _mail_credentials(tenant: Tenant, ep: dict, ca_file) -> dict:
    """Credentials for SMTP/IMAP/POP/MAPI: an app-only bearer token, or Basic."""
    if tenant.uses_oauth:
        if not tenant.test_mailbox:
            raise CannotRun("Set a default test mailbox: OAuth sign-in needs a mailbox to act as.")
        return {"username": tenant.test_mailbox, "token": app_token(tenant, ep, ca_file)}
    return {"username": tenant.username, "password": tenant.password}


def _bearer_or_basic(tenant: Tenant, ep: dict, ca_file) -> dict:
    """HTTP probes send the bearer token alone, or Basic credentials."""
    credentials = _mail_credentials(tenant, ep, ca_file)
    if "token" in credentials:
        credentials.pop("username")
    return credentials


def tenant_call(tenant: Tenant, probe: str, ca_file: str | None):
    """(function, kwargs) for running ``probe`` against ``tenant``."""
    ep = tenant.endpoints()
    common = {"ca_file": ca_file, "timeout": settings.PROBE_TIMEOUT,
              "allow_link_local": settings.PROBE_ALLOW_LINK_LOCAL}  # fmt: skip
    mailbox = tenant.test_mailbox
    if probe == Probe.DNS:
        if not tenant.primary_domain:
            raise CannotRun("Add an accepted domain to test its DNS records.")
        common.pop("ca_file")
        return probes.probe_dns, {"domain": tenant.primary_domain, **tenant.dns_resolver(),
                                  **common}  # fmt: skip
    if probe == Probe.TLS:
        host, port = _host_port(ep["ews_url"])
        if not host:
            raise CannotRun("No EWS URL to take the certificate from.")
        return probes.probe_tls, {"host": host, "port": port, **common}
    if probe in {Probe.SMTP, Probe.IMAP, Probe.POP3}:
        key = {"smtp": "smtp", "imap": "imap", "pop3": "pop"}[probe]
        host = ep[f"{key}_host"]
        if not host:
            raise CannotRun(f"No {probe.upper()} host is set for this tenant.")
        kwargs = {"host": host, "port": ep[f"{key}_port"], **common}
        if probe == Probe.SMTP:
            kwargs["security"] = ep["smtp_security"]
        else:
            kwargs["security"] = "tls" if ep[f"{key}_port"] in (993, 995) else "starttls"
        kwargs.update(_mail_credentials(tenant, ep, ca_file))
        func = {"smtp": probes.probe_smtp, "imap": probes.probe_imap, "pop3": probes.probe_pop3}
        return func[probe], kwargs
    if not mailbox:
        raise CannotRun("Set a default test mailbox for this tenant.")
    if probe == Probe.AUTODISCOVER:
        kwargs = {"email": mailbox, "url": ep["autodiscover_url"] or None, **common}
        if tenant.dns_server:  # SRV lookups go to the tenant's DNS server too
            dns = tenant.dns_resolver()
            kwargs.update(nameserver=dns["nameserver"], dns_port=dns["port"])
        kwargs.update(_bearer_or_basic(tenant, ep, ca_file))
        return probes.probe_autodiscover, kwargs
    if probe == Probe.EWS:
        kwargs = {"mailbox": mailbox, "url": ep["ews_url"], **common}
        if tenant.auth_method == Tenant.Auth.OAUTH_CERT:
            kwargs.update(token=app_token(tenant, ep, ca_file), impersonate=mailbox)
        elif tenant.uses_oauth:
            kwargs.update(token_url=ep["token_url"], client_id=tenant.client_id,
                          client_secret=tenant.client_secret, impersonate=mailbox)  # fmt: skip
        else:
            kwargs.update(username=tenant.username, password=tenant.password)
        return probes.probe_ews, kwargs
    if probe == Probe.MAPI:
        kwargs = {"email": mailbox, "url": ep["mapi_url"] or None,
                  "autodiscover_url": ep["autodiscover_url"] or None, **common}  # fmt: skip
        if not kwargs["url"] and not kwargs["autodiscover_url"]:
            raise CannotRun("Set the MAPI URL or the Autodiscover URL.")
        kwargs.update(_bearer_or_basic(tenant, ep, ca_file))
        return probes.probe_mapi, kwargs
    raise CannotRun(f"Unknown probe {probe!r}.")


ADHOC_FUNCS = {
    Probe.SMTP: "probe_smtp", Probe.IMAP: "probe_imap", Probe.POP3: "probe_pop3",
    Probe.TLS: "probe_tls", Probe.TCP: "probe_tcp", Probe.DNS: "probe_dns",
}  # fmt: skip


def adhoc_call(params: dict, password: str | None):
    kwargs = {k: v for k, v in params.items() if v not in (None, "")}
    kwargs.update(timeout=settings.PROBE_TIMEOUT, allow_link_local=settings.PROBE_ALLOW_LINK_LOCAL)
    probe = kwargs.pop("probe")
    if probe == Probe.DNS:
        kwargs["domain"] = kwargs.pop("host")
        kwargs.pop("port", None)
    if password:
        kwargs["password"] = password
    return getattr(probes, ADHOC_FUNCS[probe]), kwargs


def execute(run: ProbeRun, password: str | None = None) -> ProbeRun:
    """Run the probe for ``run`` now, saving each step as it finishes."""
    run.status, run.started_at = RunStatus.RUNNING, timezone.now()
    run.save(update_fields=["status", "started_at"])
    started = time.monotonic()

    def on_step(step):
        run.steps.append(step.to_dict())
        ProbeRun.objects.filter(pk=run.pk).update(steps=run.steps)

    try:
        with contextlib.ExitStack() as stack:
            ca_file = ca_file_for(run.tenant)
            if run.tenant is not None and not run.tenant.tls_verify:
                stack.enter_context(verification_off())
            if run.tenant is not None:
                func, kwargs = tenant_call(run.tenant, run.probe, ca_file)
            else:
                func, kwargs = adhoc_call({**run.params, "probe": run.probe}, password)
            result = func(**kwargs, on_step=on_step)
        run.target = result.target[:300]
        run.steps = [s.to_dict() for s in result.steps]
        run.status = ProbeRun.status_from_steps(run.steps)
        run.cert_days_left = ProbeRun.days_left_from_steps(run.steps)
    except (CannotRun, InvalidInput) as exc:
        run.status, run.error = RunStatus.ERROR, str(exc)[:500]
    run.finished_at = timezone.now()
    run.duration_ms = int((time.monotonic() - started) * 1000)
    run.save()
    return run
