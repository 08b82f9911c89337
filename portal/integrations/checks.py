"""Health checks per integration × feature, composed from the connectivity probes.

Each check returns an :class:`Outcome`: green (every step passed), amber (a warning), red (a
step failed — the first failed step is named with what to do), or retired (the feature no
longer exists; the replacement is the hint). A check that cannot start (a missing setting)
is red with the setting named.
"""

import contextlib
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from connectivity import lifecycle
from connectivity.explain import explain
from connectivity.i18n import N_, Msg
from connectivity.probes.core import InvalidInput, Status
from connectivity.probes.sharepoint import probe_sharepoint
from connectivity.probes.tls import probe_tls
from connectivity.tlspolicy import verification_off
from portal.integrations.ews_checks import probe_ews_calendar
from portal.integrations.models import Feature, Integration
from portal.integrations.models import Status as Light
from portal.runs.runner import CannotRun, app_token, ca_file_for
from portal.tenants.models import Tenant

SETTINGS_STEP = N_("Integration settings")
LIFECYCLE_STEP = N_("Lifecycle")


@dataclass
class Outcome:
    feature: str
    status: str
    step: str = ""
    detail: str = ""
    hint: str = ""
    steps: list = field(default_factory=list)

    @property
    def texts(self) -> dict:
        """detail/hint as translatable sentences, for the pages (the JSON keeps English)."""
        return {f"{key}_msg": value.to_json() for key in ("detail", "hint")
                if isinstance(value := getattr(self, key), Msg)}  # fmt: skip

    def as_json(self, integration: Integration) -> dict:
        return {"tenant": integration.tenant.name, "integration": integration.name,
                "feature": self.feature, "status": self.status, "step": self.step,
                "detail": str(self.detail), "hint": str(self.hint)}  # fmt: skip


def from_steps(feature: str, steps) -> Outcome:
    dicts = [s.to_dict(messages=True) for s in steps]
    for wanted, light in ((Status.FAIL, Light.RED), (Status.WARN, Light.AMBER)):
        first = next((s for s in steps if s.status == wanted), None)
        if first is not None:
            return Outcome(feature, light, first.name, first.detail, first.hint, dicts)
    last = steps[-1] if steps else None
    return Outcome(feature, Light.GREEN, last.name if last else "",
                   last.detail if last else "", "", dicts)  # fmt: skip


def _common(tenant: Tenant, ca_file) -> dict:
    return {"ca_file": ca_file, "timeout": settings.PROBE_TIMEOUT,
            "allow_link_local": settings.PROBE_ALLOW_LINK_LOCAL}  # fmt: skip


def _ews_credentials(tenant: Tenant, ep: dict, ca_file) -> dict:
    if tenant.auth_method == Tenant.Auth.OAUTH_CERT:
        return {"token": app_token(tenant, ep, ca_file)}
    if tenant.uses_oauth:
        return {"token_url": ep["token_url"], "client_id": tenant.client_id,
                "client_secret": tenant.client_secret}  # fmt: skip
    return {"username": tenant.username, "password": tenant.password}


def _ews(integration: Integration, mailbox: str, operations, ca_file, on_version):
    tenant = integration.tenant
    ep = tenant.endpoints()
    if not ep["ews_url"]:
        raise CannotRun(N_("the tenant has no EWS URL"),
                        N_("Set the EWS URL in the tenant's settings."))  # fmt: skip
    return probe_ews_calendar(mailbox, url=ep["ews_url"], operations=operations,
                              on_version=on_version, **_ews_credentials(tenant, ep, ca_file),
                              **_common(tenant, ca_file))  # fmt: skip


def _retired(feature: str, why: str, replacement: str) -> Outcome:
    return Outcome(feature, Light.RETIRED, LIFECYCLE_STEP, why, replacement)


def _run(integration: Integration, feature: str, ca_file, on_version) -> Outcome:
    tenant = integration.tenant
    online = tenant.kind == Tenant.Kind.ONLINE
    today = timezone.localdate()
    if feature == Feature.VOICEMAIL:
        info = lifecycle.FEATURES["voicemail"]
        return _retired(feature, N_("Exchange Unified Messaging was retired in Exchange Online "
                                    "on 2020-02-28 and removed from Exchange Server 2019."),
                        info.recommended)  # fmt: skip
    if feature == Feature.SITE_MAILBOXES:
        if lifecycle.feature_state(feature, today, online=online,
                                   product=integration.product) == lifecycle.RETIRED:  # fmt: skip
            return _retired(feature, N_("Site mailboxes were retired in SharePoint Online in "
                                        "April 2021 (MC224531)."),
                            lifecycle.FEATURES[feature].recommended)  # fmt: skip
        if not integration.site_mailbox:
            raise CannotRun(N_("no site mailbox address is set"),
                            N_("Enter the site mailbox's address in the integration."))  # fmt: skip
        result = _ews(integration, integration.site_mailbox, ("getfolder",), ca_file, on_version)
        return from_steps(feature, result.steps)
    if feature == Feature.EWS_CALENDAR:
        if online and lifecycle.feature_state(feature, today, online=True) == lifecycle.RETIRED:
            return _retired(feature, N_("EWS in Exchange Online was retired on 2027-04-01."),
                            lifecycle.FEATURES[feature].recommended)  # fmt: skip
        mailbox = integration.test_mailbox or tenant.test_mailbox
        if not mailbox:
            raise CannotRun(N_("no test mailbox is set (neither on the integration nor on the "
                               "tenant)"),
                            N_("Enter a test mailbox in the integration."))  # fmt: skip
        result = _ews(integration, mailbox, ("oof", "availability"), ca_file, on_version)
        return from_steps(feature, result.steps)
    if feature == Feature.IM_PRESENCE:
        if not integration.pool_fqdn:
            raise CannotRun(N_("no Skype pool FQDN is set"),
                            N_("Enter the pool FQDN in the integration."))  # fmt: skip
        kwargs = _common(tenant, ca_file)
        result = probe_tls(integration.pool_fqdn, integration.pool_port, **kwargs)
        return from_steps(feature, result.steps)
    if feature in (Feature.S2S_OAUTH, Feature.EDISCOVERY):
        if not integration.web_app_url:
            raise CannotRun(N_("no SharePoint web application URL is set"),
                            N_("Enter the web application URL in the integration."))  # fmt: skip
        result = probe_sharepoint(integration.web_app_url, **_common(tenant, ca_file))
        return from_steps(feature, result.steps)
    raise CannotRun(N_("unknown feature %(feature)s", feature=feature), "")


def check(integration: Integration, feature: str, on_version=None) -> Outcome:
    """Run one feature's check now; never raises for a network or settings problem."""
    tenant = integration.tenant
    try:
        with contextlib.ExitStack() as stack:
            if not tenant.tls_verify:
                stack.enter_context(verification_off())
            return _run(integration, feature, ca_file_for(tenant), on_version)
    except CannotRun as exc:
        return Outcome(feature, Light.RED, exc.step if exc.step != "Tenant settings" else
                       SETTINGS_STEP, exc.detail, exc.hint)  # fmt: skip
    except InvalidInput as exc:
        return Outcome(feature, Light.RED, SETTINGS_STEP, str(exc),
                       N_("Correct the value in the integration's settings."))  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - whatever stops a check is shown in words
        detail, hint = explain(exc, timeout=settings.PROBE_TIMEOUT)
        return Outcome(feature, Light.RED, N_("Start the check"), detail, hint)
