"""Run an integration's checks, keep their history and current status, and tell people once
when a status changes."""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation

from connectivity import lifecycle
from portal.audit.api import record
from portal.integrations import checks
from portal.integrations.models import CheckResult, FeatureStatus, Integration, TenantProfile
from portal.integrations.models import Status as Light
from portal.tenants.models import Tenant


def record_version(tenant: Tenant, major: int, minor: int, build: int) -> None:
    """An Exchange Server tenant's version as its EWS answer states it (ServerVersionInfo)."""
    if tenant.kind != Tenant.Kind.SERVER:
        return
    version, cu = lifecycle.exchange_version_from_build(major, minor, build)
    if not version.startswith("exchange_") or version == "exchange_online":
        return
    build_text = f"{major}.{minor}.{build}"
    profile, _ = TenantProfile.objects.get_or_create(tenant=tenant)
    if (profile.exchange_version, profile.build) == (version, build_text):
        return
    before = {"exchange_version": profile.exchange_version, "build": profile.build}
    profile.exchange_version, profile.cumulative_update, profile.build = version, cu, build_text
    profile.version_source = TenantProfile.Source.EWS
    profile.version_recorded_at = timezone.now()
    profile.save()
    record("tenant.exchange_version", target=tenant, tenant=tenant, before=before,
           after={"exchange_version": version, "build": build_text, "source": "ews"})  # fmt: skip


def _save(integration: Integration, outcome: checks.Outcome, now, job_id) -> str | None:
    """Store the result; return the previous status when this one differs from it."""
    CheckResult.objects.create(
        integration=integration, feature=outcome.feature, status=outcome.status,
        step=outcome.step, detail=outcome.detail, hint=outcome.hint, steps=outcome.steps,
        texts=outcome.texts,
        checked_at=now, job_id=job_id,
    )  # fmt: skip
    with transaction.atomic():
        state = (FeatureStatus.objects.select_for_update()
                 .filter(integration=integration, feature=outcome.feature).first())  # fmt: skip
        fields = {"status": outcome.status, "step": outcome.step, "detail": outcome.detail,
                  "hint": outcome.hint, "texts": outcome.texts, "checked_at": now}  # fmt: skip
        if state is None:
            FeatureStatus.objects.create(integration=integration, feature=outcome.feature,
                                         since=now, **fields)  # fmt: skip
            return None
        previous = state.status
        if previous != outcome.status:
            fields["since"] = now
        FeatureStatus.objects.filter(pk=state.pk).update(**fields)
    return previous if previous != outcome.status else None


def _notify(integration: Integration, outcome: checks.Outcome, previous: str) -> None:
    if not integration.notify_emails:
        return
    with translation.override(settings.LANGUAGE_CODE):  # the site's language, not a reader's
        labels = {key: str(label) for key, label in Light.choices}
    url = settings.SITE_URL.rstrip("/") + reverse("integrations:detail", args=[integration.pk])
    subject = (f"[{integration.tenant}] {integration.name} · {outcome.feature}: "
               f"{labels[previous]} → {labels[outcome.status]}")  # fmt: skip
    body = "\n".join([subject, "", f"{outcome.step}: {outcome.detail}", outcome.hint, "", url])
    result = "success"
    try:
        send_mail(subject, body, None, integration.notify_emails, fail_silently=False)
    except OSError:
        result = "failure"
    record("integration.notify", target=integration, tenant=integration.tenant,
           after={"feature": outcome.feature, "from": previous, "to": outcome.status,
                  "recipients": integration.notify_emails}, result=result)  # fmt: skip


def run_checks(integration: Integration, *, job_id=None, notify: bool = True) -> list:
    """Every feature of ``integration``, now; one audit event for the whole check."""
    tenant = integration.tenant

    def on_version(major, minor, build):
        record_version(tenant, major, minor, build)

    outcomes = []
    for feature in integration.feature_list():
        outcome = checks.check(integration, feature, on_version=on_version)
        previous = _save(integration, outcome, timezone.now(), job_id)
        if previous and notify:
            _notify(integration, outcome, previous)
        outcomes.append(outcome)
    red = any(o.status == Light.RED for o in outcomes)
    record("integration.check", target=integration, tenant=tenant,
           after={o.feature: o.status for o in outcomes},
           result="failure" if red else "success")  # fmt: skip
    return outcomes
