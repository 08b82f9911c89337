"""How one run is shown outside its step list: its settings in words, the step running now,
a JSON download and a plain-text summary for a ticket.

Nothing here holds a secret: a run's params never contain a password (the "Test a host" form
passes it to the worker sealed and keeps only that one was given), and probes scrub credentials
from step details before they are stored.
"""

from django.conf import settings
from django.urls import reverse
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.jobs.api import WITHHELD
from portal.lib import translate
from portal.runs.forms import AdhocForm
from portal.runs.hints import hint_text
from portal.runs.models import ProbeRun, RunStatus

PARAM_LABELS = {
    "host": gettext_lazy("Host"),
    "port": gettext_lazy("Port"),
    "security": gettext_lazy("Security"),
    "username": gettext_lazy("User name"),
    "mail_from": gettext_lazy("Test message from"),
    "rcpt_to": gettext_lazy("Test message to"),
    "ca_bundle": gettext_lazy("Custom CA bundle"),
}
STEP_MARKS = {"pass": "✓", "warn": "!", "fail": "✗", "skip": "–"}


def _param_value(key: str, value) -> str:
    if key == "ca_bundle":
        return _("given")
    if key == "security":  # the form's words for it (STARTTLS, Implicit TLS, None)
        return str(dict(AdhocForm.base_fields["security"].choices).get(value, value))
    return str(value)


def param_rows(run: ProbeRun) -> list[tuple[str, str]]:
    """(label, value) of an ad-hoc run's settings; a CA bundle is named, not printed."""
    return [
        (str(PARAM_LABELS.get(key, key)), _param_value(key, value))
        for key, value in run.params.items()
    ]


def error_text(run: ProbeRun) -> str:
    """``run.error`` in the reader's language: the failing step's sentence when it is one (a
    run that could not start), else stored English text (a queue failure, a lost worker)."""
    for step in reversed(run.steps):
        if step.get("detail") and str(step["detail"])[:500] == run.error:
            return translate.step_text(step, "detail")
    return translate.stored(run.error)


def needs_password(run: ProbeRun) -> bool:
    """An ad-hoc run that signed in: running it again needs the password typed again."""
    if run.tenant_id:
        return False
    sealed = run.job.kwargs.get("sealed_password") if run.job_id and run.job else None
    return sealed == WITHHELD or bool(run.params.get("username"))


def running_step(run: ProbeRun) -> str:
    """The name of the step in progress, as far as it can be known; "" if not known.

    Steps are stored only once finished. The last finished run of the same test against the
    same target lists every planned step (a probe records the steps it skips too), so the first
    of those not finished yet is the one in progress.
    """
    if run.status != RunStatus.RUNNING:
        return ""
    earlier = ProbeRun.objects.filter(
        probe=run.probe, tenant_id=run.tenant_id, pk__lt=run.pk,
        status__in=[RunStatus.PASS, RunStatus.WARN, RunStatus.FAIL],
    )  # fmt: skip
    if not run.tenant_id:
        earlier = earlier.filter(params__host=run.params.get("host"))
    previous = earlier.order_by("-pk").only("steps").first()
    finished = {step.get("name") for step in run.steps}
    for step in previous.steps if previous else []:
        if step.get("name") not in finished:
            return step.get("name", "")
    return ""


def _when(value) -> str | None:
    return value.isoformat() if value else None


def as_json(run: ProbeRun) -> dict:
    """The downloadable record of a run: what was tested, how, and every step."""
    return {
        "id": run.pk,
        "url": settings.SITE_URL.rstrip("/") + reverse("connectivity:run", args=[run.pk]),
        "test": run.probe,
        "test_name": str(run.get_probe_display()),
        "tenant": {"id": run.tenant_id, "name": run.tenant.name} if run.tenant else None,
        "target": run.target,
        "params": run.params,
        "status": run.status,
        "status_text": str(run.get_status_display()),
        "error": run.error,
        "started_by": run.started_by.get_username() if run.started_by else None,
        "scheduled": run.schedule_id is not None,
        "created_at": _when(run.created_at),
        "started_at": _when(run.started_at),
        "finished_at": _when(run.finished_at),
        "duration_ms": run.duration_ms,
        "steps": run.steps,
    }


def _row(label: str, value) -> str:
    return f"{label}: {value}"


def as_text(run: ProbeRun) -> str:
    """A plain-text summary to paste into a ticket, in the reader's language."""
    # Labels are gettext calls of their own: makemessages does not see calls inside f-strings.
    lines = [_row(_("Test"), run.get_probe_display())]
    if run.tenant:
        lines.append(_row(_("Tenant"), run.tenant.name))
    if run.target:
        lines.append(_row(_("Target"), run.target))
    lines += [_row(label, value) for label, value in param_rows(run)]
    lines += [
        _row(_("Result"), run.get_status_display()),
        _row(_("When"), f"{localtime(run.created_at):%Y-%m-%d %H:%M:%S %Z}").rstrip(),
    ]
    if run.duration_ms is not None:
        lines.append(_row(_("Duration"), _("%(ms)s ms") % {"ms": run.duration_ms}))
    if run.error:
        lines.append(_row(_("Error"), error_text(run)))
    lines += [_row(_("Link"), as_json(run)["url"]), "", _("Steps") + ":"]
    for step in run.steps:
        ms = " (" + _("%(ms)s ms") % {"ms": step["ms"]} + ")" if step.get("ms") else ""
        name = _(step["name"]) if step.get("name") else ""  # step names are catalogue entries
        lines.append(f"{STEP_MARKS.get(step.get('status'), '·')} {name}{ms}")
        if step.get("detail"):
            lines.append(f"    {translate.step_text(step, 'detail')}")
        if step.get("hint"):
            hint = hint_text(translate.step_text(step, "hint"))
            lines.append(f"    {_('What to do:')} {hint}")
    return "\n".join(lines)
