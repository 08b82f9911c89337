"""The "new job" forms: the grant, where the mailboxes come from, and each kind's fields.

The forms catch what a person can mistype (a date, a line break in a subject, a file that is
not UTF-8) and turn the fields into the kind's parameters. What the job may touch — the grant,
each mailbox against its scope, the parameters themselves — is decided by ``start.start``,
the same checks the command line goes through.
"""

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.ewsjobs import present
from portal.ewsjobs.scope import Refused, parse_targets
from portal.grants.models import Grant
from portal.lib.validators import validate_single_line
from portal.tenants.forms import ConditionalSelect, show_if
from portal.tenants.models import Tenant

MB = 1024 * 1024
TARGETS_FILE_MAX = 1 * MB  # 5,000 addresses fit many times over
ITEMS_FILE_MAX = 5 * MB  # the engine's limit for a CSV or .ics batch
# The whole request: the biggest file, the typed fields and the multipart overhead.
REQUEST_MAX = ITEMS_FILE_MAX + 1 * MB
TEXT_MAX = 64_000


def read_text_file(upload, limit: int) -> str:
    """An uploaded file as text, or ValidationError in words (too large, not UTF-8)."""
    if upload.size > limit:
        raise ValidationError(_("The file is larger than %(mb)s MB."),
                              params={"mb": limit // MB})  # fmt: skip
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise ValidationError(_("The file is larger than %(mb)s MB."),
                              params={"mb": limit // MB})  # fmt: skip
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(
            _("The file is not UTF-8 text: save it as UTF-8 (in Excel: CSV UTF-8).")
        ) from None


def _line(label, **kwargs):
    """A one-line text field: line breaks and control characters are refused."""
    kwargs.setdefault("required", False)
    kwargs.setdefault("max_length", 255)
    return forms.CharField(label=label, validators=[validate_single_line], **kwargs)


class LocalDateTimeField(forms.CharField):
    """A date and time without a zone (the job's time zone field says which)."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"})

    def to_python(self, value):
        text = super().to_python(value).strip()
        if not text:
            return None
        try:
            parsed = dt.datetime.fromisoformat(text.replace(" ", "T", 1))
        except ValueError:
            raise ValidationError(_("Enter a date and time such as 2026-12-01 09:30.")) from None
        if parsed.tzinfo is not None:
            raise ValidationError(_("Enter the time without a zone; choose the zone below."))
        return parsed.replace(second=0, microsecond=0)


def _date(label, **kwargs):
    return forms.DateField(label=label, required=False, input_formats=["%Y-%m-%d"],
                           widget=forms.DateInput(attrs={"type": "date"}), **kwargs)  # fmt: skip


def _grant_label(grant: Grant) -> str:
    expires = timezone.localdate(grant.expires_at).isoformat()
    scope = grant.get_scope_display()
    if grant.scope != Grant.Scope.ALL:
        scope = f"{scope}: {grant.scope_label()[:60]}"
    return f"#{grant.pk} {grant.application.name} · {scope} · {expires}"


class JobForm(forms.Form):
    """What every kind asks: tenant, grant and the mailboxes."""

    kind = ""
    # The dashes of the grant list: Django's "- Select an option -" has no Russian yet.
    tenant = forms.ModelChoiceField(label=_("Tenant"), queryset=Tenant.objects.all(),
                                    empty_label="---------")  # fmt: skip
    grant = forms.ModelChoiceField(
        label=_("Grant"), queryset=Grant.objects.none(), widget=ConditionalSelect,
        help_text=_("Active grants of the tenant's applications: the job acts as that "
                    "application and may touch only mailboxes inside the grant's scope."),
    )  # fmt: skip
    targets_from = forms.ChoiceField(
        label=_("Mailboxes"), initial="list",
        choices=[("list", _("A list typed here")), ("file", _("A CSV file")),
                 ("scope", _("Every mailbox in the grant's scope"))],
    )  # fmt: skip
    targets_text = forms.CharField(
        label=_("Mailbox addresses"), required=False, max_length=400_000,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text=_("One address per line, or separated by commas."),
    )  # fmt: skip
    targets_file = forms.FileField(
        label=_("CSV file of mailboxes"), required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,text/csv,text/plain"}),
        help_text=_("UTF-8, up to 1 MB: a column named mailbox (or email), else the first "
                    "column."),
    )  # fmt: skip

    SHOW_IF = {"targets_text": {"targets_from": ["list"]},
               "targets_file": {"targets_from": ["file"]}}  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Every grant is looked up, so a grant that is no longer active is refused by the
        # start checks with the reason; only active ones are offered.
        self.fields["grant"].queryset = Grant.objects.select_related("application__tenant")
        offered = list(Grant.objects.select_related("application").filter(
            status=Grant.Status.ACTIVE, expires_at__gt=timezone.now()))  # fmt: skip
        widget = self.fields["grant"].widget
        widget.choices = [("", "---------")] + [(g.pk, _grant_label(g)) for g in offered]
        widget.option_show_if = {str(g.pk): {"tenant": [g.application.tenant_id]}
                                 for g in offered}  # fmt: skip
        self.targets: list[str] | None = None
        self.every_in_scope = False
        self.params: dict = {}

    def rows(self):
        """(field, data-show-if value) for the template."""
        return [(field, show_if(self.SHOW_IF.get(field.name))) for field in self]

    @property
    def has_options(self) -> bool:
        return len(self.fields["grant"].widget.choices) > 1

    def _targets(self, data) -> None:
        source = data.get("targets_from")
        if source == "scope":
            self.every_in_scope = True
            return
        if source == "file":
            upload = data.get("targets_file")
            if not upload:
                self.add_error("targets_file", _("Choose the CSV file of mailboxes."))
                return
            try:
                text = read_text_file(upload, TARGETS_FILE_MAX)
            except ValidationError as exc:
                self.add_error("targets_file", exc)
                return
            field = "targets_file"
        else:
            text, field = data.get("targets_text") or "", "targets_text"
        try:
            self.targets = parse_targets(text)
        except Refused as exc:
            self.add_error(field, present.refusal(exc))
            return
        if not self.targets:
            self.add_error(field, _("Give at least one mailbox address."))

    def clean(self):
        data = super().clean()
        self._targets(data)
        if not self.errors:
            self.params = self.build_params(data)
        return data

    def build_params(self, data) -> dict:
        raise NotImplementedError


class CriteriaMixin(forms.Form):
    subject = _line(_("Subject contains"))
    body = forms.CharField(label=_("Body contains"), required=False, max_length=255,
                           validators=[validate_single_line])  # fmt: skip
    sender = _line(_("From (address)"), max_length=254)
    received_from = _date(_("Received on or after"))
    received_to = _date(_("Received on or before"))
    has_attachments = forms.ChoiceField(
        label=_("Attachments"), required=False,
        choices=[("", _("With or without")), ("yes", _("Only with attachments")),
                 ("no", _("Only without attachments"))],
    )  # fmt: skip
    folder = _line(
        _("Folder"), max_length=255,
        help_text=_("A well-known folder (inbox, sentitems, drafts, deleteditems, junkemail) or a "
                    "path below one such as inbox/Projects; empty: the Inbox."),
    )  # fmt: skip

    def clean_sender(self):
        value = self.cleaned_data.get("sender", "").strip()
        if value:
            try:
                validate_email(value)
            except ValidationError:
                raise ValidationError(_("Enter the sender's full e-mail address.")) from None
        return value

    def criteria(self, data) -> dict:
        start, end = data.get("received_from"), data.get("received_to")
        if start and end and end < start:
            self.add_error("received_to", _("The end of the range is before its start."))
        criteria = {k: data[k].strip() for k in ("subject", "body", "sender", "folder")
                    if (data.get(k) or "").strip()}  # fmt: skip
        if start:
            criteria["received_from"] = start.isoformat()
        if end:
            criteria["received_to"] = end.isoformat()
        if data.get("has_attachments") in ("yes", "no"):
            criteria["has_attachments"] = data["has_attachments"] == "yes"
        return criteria


class SearchForm(CriteriaMixin, JobForm):
    kind = "search"

    def build_params(self, data) -> dict:
        return {"criteria": self.criteria(data)}


class RulesForm(CriteriaMixin, JobForm):
    kind = "rules"
    action = forms.ChoiceField(
        label=_("Action on each message found"),
        choices=[(k, v) for k, v in (("categorize", _("Add a category")),
                                     ("flag", _("Flag for follow-up")),
                                     ("move", _("Move to a folder")),
                                     ("forward", _("Forward to an address")),
                                     ("delete", _("Move to Deleted Items")))],
    )  # fmt: skip
    category = _line(_("Category"))
    move_to = _line(
        _("Move to folder"), help_text=_("A folder path such as inbox/Archive or Archive/2026.")
    )
    forward_to = _line(_("Forward to"), max_length=254)

    SHOW_IF = {**JobForm.SHOW_IF, "category": {"action": ["categorize"]},
               "move_to": {"action": ["move"]}, "forward_to": {"action": ["forward"]}}  # fmt: skip

    def build_params(self, data) -> dict:
        criteria = self.criteria(data)
        kind = data.get("action")
        action = {"kind": kind}
        needed = {"categorize": ("category", "category", _("Enter the category to add.")),
                  "move": ("move_to", "folder", _("Enter the folder to move the messages to.")),
                  "forward": ("forward_to", "forward_to",
                              _("Enter the address to forward the messages to."))}  # fmt: skip
        if kind in needed:
            field, key, missing = needed[kind]
            value = (data.get(field) or "").strip()
            if not value:
                self.add_error(field, missing)
            elif kind == "forward":
                try:
                    validate_email(value)
                except ValidationError:
                    self.add_error(field, _("Enter one e-mail address."))
            action[key] = value
        return {"criteria": criteria, "action": action}


class ItemsForm(JobForm):
    """Publishing and tasks: one item typed in the form, or a file of many."""

    source = forms.ChoiceField(label=_("What to create"), initial="one")
    tz = _line(_("Time zone"), initial="UTC", max_length=64,
               help_text=_("The zone of the times above: an IANA name such as Europe/Berlin, "
                           "a Windows name such as W. Europe Standard Time, or UTC."))  # fmt: skip
    ONE_ITEM: tuple[str, ...] = ()
    FILE_FIELD = ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.SHOW_IF = {**JobForm.SHOW_IF, self.FILE_FIELD: {"source": ["file"]},
                        **{name: {"source": ["one"]} for name in self.ONE_ITEM}}  # fmt: skip

    def build_params(self, data) -> dict:
        if data.get("source") == "file":
            upload = data.get(self.FILE_FIELD)
            if not upload:
                self.add_error(self.FILE_FIELD, _("Choose the file."))
                return {}
            try:
                text = read_text_file(upload, ITEMS_FILE_MAX)
            except ValidationError as exc:
                self.add_error(self.FILE_FIELD, exc)
                return {}
            return self.file_params(upload.name or "", text)
        return self.one_item(data)

    def _required(self, data, *names) -> bool:
        missing = [n for n in names if data.get(n) in (None, "")]
        for name in missing:
            self.add_error(name, _("This field is required."))
        return not missing


class PublishForm(ItemsForm):
    kind = "publish"
    subject = _line(_("Subject"))
    start = LocalDateTimeField(label=_("Starts"), required=False)
    end = LocalDateTimeField(label=_("Ends"), required=False)
    all_day = forms.BooleanField(label=_("All-day event"), required=False)
    location = _line(_("Location"))
    body = forms.CharField(label=_("Description"), required=False, max_length=TEXT_MAX,
                           widget=forms.Textarea(attrs={"rows": 3}))  # fmt: skip
    reminder_minutes = forms.IntegerField(label=_("Reminder (minutes before)"), required=False,
                                          min_value=0, max_value=40_320)  # fmt: skip
    categories = _line(_("Categories"), help_text=_("Separated by semicolons."))
    events_file = forms.FileField(
        label=_("CSV or iCalendar file"), required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.ics,text/csv,text/calendar"}),
        help_text=_("UTF-8, up to 5 MB. CSV columns: subject, start, end and optionally "
                    "location, body, all_day, tz, reminder_minutes, categories. Or an .ics "
                    "file exported from a calendar."),
    )  # fmt: skip
    ONE_ITEM = ("subject", "start", "end", "all_day", "location", "body", "reminder_minutes",
                "categories", "tz")  # fmt: skip
    FILE_FIELD = "events_file"
    field_order = ["tenant", "grant", "targets_from", "targets_text", "targets_file", "source",
                   *ONE_ITEM, "events_file"]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].choices = [("one", _("One event typed here")),
                                         ("file", _("Events from a CSV or .ics file"))]  # fmt: skip

    def file_params(self, name: str, text: str) -> dict:
        if name.lower().endswith(".ics") or text.lstrip().upper().startswith("BEGIN:VCALENDAR"):
            return {"ics": text}
        return {"csv": text}

    def one_item(self, data) -> dict:
        if not self._required(data, "subject", "start", "end", "tz"):
            return {}
        if data["end"] < data["start"]:
            self.add_error("end", _("The event ends before it starts."))
            return {}
        event = {"subject": data["subject"], "start": data["start"].isoformat(),
                 "end": data["end"].isoformat(), "tz": data["tz"],
                 "location": data.get("location", ""), "body": data.get("body", ""),
                 "all_day": bool(data.get("all_day")),
                 "reminder_minutes": data.get("reminder_minutes"),
                 "categories": data.get("categories", "")}  # fmt: skip
        return {"event": event}


class TasksForm(ItemsForm):
    kind = "tasks"
    subject = _line(_("Subject"))
    due = _date(_("Due date"))
    importance = forms.ChoiceField(
        label=_("Importance"), initial="Normal", required=False,
        choices=[("Low", _("Low")), ("Normal", _("Normal")), ("High", _("High"))],
    )  # fmt: skip
    reminder = LocalDateTimeField(label=_("Reminder"), required=False)
    body = forms.CharField(label=_("Description"), required=False, max_length=TEXT_MAX,
                           widget=forms.Textarea(attrs={"rows": 3}))  # fmt: skip
    tasks_file = forms.FileField(
        label=_("CSV file of tasks"), required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
        help_text=_("UTF-8, up to 5 MB. Columns: subject and optionally due, body, importance, "
                    "reminder, tz."),
    )  # fmt: skip
    ONE_ITEM = ("subject", "due", "importance", "reminder", "tz", "body")
    FILE_FIELD = "tasks_file"
    field_order = ["tenant", "grant", "targets_from", "targets_text", "targets_file", "source",
                   *ONE_ITEM, "tasks_file"]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].choices = [("one", _("One task typed here")),
                                         ("file", _("Tasks from a CSV file"))]  # fmt: skip

    def file_params(self, name: str, text: str) -> dict:
        return {"csv": text}

    def one_item(self, data) -> dict:
        if not self._required(data, "subject"):
            return {}
        task = {"subject": data["subject"], "due": data["due"].isoformat() if data.get("due")
                else None, "importance": data.get("importance") or "Normal",
                "body": data.get("body", "")}  # fmt: skip
        if data.get("reminder"):
            if not self._required(data, "tz"):
                return {}
            task.update(reminder=data["reminder"].isoformat(), tz=data["tz"])
        return {"task": task}


FORMS = {form.kind: form for form in (SearchForm, PublishForm, TasksForm, RulesForm)}
