import re

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.grants import lifecycle
from portal.grants.models import Application, EwsUse, Grant, TenantEws
from portal.lib.validators import validate_single_line

RBAC_ROLES = ["Application EWS.AccessAsApp", "Application Mail.Read", "Application Mail.ReadWrite",
              "Application Mail.Send", "Application Calendars.ReadWrite",
              "Application MailboxSettings.ReadWrite"]  # fmt: skip


class ApplicationForm(forms.ModelForm):
    protocols = forms.MultipleChoiceField(
        label=_("Protocols used"), choices=Application.Protocol.choices, required=False,
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip
    ews_uses = forms.MultipleChoiceField(
        label=_("What it does through EWS"), choices=EwsUse.choices, required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Shown on the EWS retirement page with the Microsoft Graph permission that "
                    "replaces each use."),
    )  # fmt: skip
    credential_secret = forms.CharField(
        label=_("Verification client secret"), required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Optional: lets the portal act as the application to verify its grants "
                    "(the client secret; for Basic, the service account's password). "
                    "Encrypted at rest and never shown again."),
    )  # fmt: skip

    class Meta:
        model = Application
        fields = ["tenant", "name", "owner", "purpose", "client_id", "service_principal_id",
                  "service_account", "auth", "protocols", "ews_uses", "status"]  # fmt: skip
        widgets = {"purpose": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("name", "owner", "client_id", "service_principal_id", "service_account",
                     "credential_secret"):  # fmt: skip
            self.fields[name].validators.append(validate_single_line)
        if self.instance.pk:
            self.fields["tenant"].disabled = True
            if self.instance.credential_secret:
                self.fields["credential_secret"].help_text = _(
                    "Stored. Leave empty to keep it; type to replace."
                )

    def clean(self):
        data = super().clean()
        tenant = data.get("tenant") or getattr(self.instance, "tenant", None)
        if tenant is None:
            return data
        if tenant.kind == tenant.Kind.ONLINE and not data.get("client_id"):
            self.add_error("client_id", _("Exchange Online knows an application by its client id."))
        if (tenant.kind == tenant.Kind.SERVER and not data.get("service_account")
                and not data.get("client_id")):  # fmt: skip
            self.add_error("service_account", _("Enter the service account the application uses."))
        return data

    def save(self, commit=True):
        app = super().save(commit=False)
        if self.cleaned_data.get("credential_secret"):
            app.credential_secret = self.cleaned_data["credential_secret"]
        if commit:
            app.save()
        return app


class GrantForm(forms.ModelForm):
    mailboxes_text = forms.CharField(
        label=_("Mailboxes"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One address per line: the mailboxes of an explicit list; for other scopes, "
                    "sample mailboxes inside the scope that verification tries."),
    )  # fmt: skip
    expires_on = forms.DateField(
        label=_("Expires on"), widget=forms.DateInput(attrs={"type": "date"}),
    )  # fmt: skip

    class Meta:
        model = Grant
        fields = ["application", "model", "role", "scope", "scope_value", "justification",
                  "ticket"]  # fmt: skip
        widgets = {"justification": forms.Textarea(attrs={"rows": 3}),
                   "role": forms.TextInput(attrs={"list": "rbac-roles"})}  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "application" in self.fields:  # a configuration document names it instead
            self.fields["application"].queryset = Application.objects.select_related("tenant")
            self.fields["application"].label_from_instance = lambda a: f"{a.tenant} · {a.name}"
        for name in ("role", "scope_value", "ticket"):
            self.fields[name].validators.append(validate_single_line)
        self.fields["expires_on"].help_text = _("Required; at most %(days)s days from today.") % {
            "days": lifecycle.max_lifetime().days
        }

    def clean_mailboxes_text(self):
        addresses = []
        for item in re.split(r"[\s,;]+", self.cleaned_data.get("mailboxes_text", "")):
            if not item:
                continue
            try:
                validate_email(item)
            except ValidationError:
                raise ValidationError(_("“%(a)s” is not an e-mail address."), params={"a": item})
            if item.lower() not in addresses:
                addresses.append(item.lower())
        return addresses

    def clean_expires_on(self):
        day = self.cleaned_data["expires_on"]
        today = timezone.localdate()
        if day <= today:
            raise ValidationError(_("Choose a date after today."))
        if day > today + lifecycle.max_lifetime():
            raise ValidationError(
                _("A grant may last at most %(days)s days; choose an earlier date."),
                params={"days": lifecycle.max_lifetime().days},
            )
        return day

    def clean(self):
        data = super().clean()
        app, model, scope = data.get("application"), data.get("model"), data.get("scope")
        value = (data.get("scope_value") or "").strip()
        data["scope_value"] = value
        if scope in (Grant.Scope.GROUP, Grant.Scope.FILTER) and not value:
            self.add_error("scope_value", _("Enter the group or the recipient filter."))
        if scope == Grant.Scope.LIST and not data.get("mailboxes_text"):
            self.add_error("mailboxes_text", _("List at least one mailbox."))
        if model == Grant.Model.RBAC and not data.get("role"):
            self.add_error("role", _("Choose the application role, e.g. %(r)s.")
                           % {"r": RBAC_ROLES[0]})  # fmt: skip
        if app is not None and model:
            self._check_model(app, model, scope)
        return data

    def _check_model(self, app, model, scope):
        for name, message in model_problems(app, model, scope):
            self.add_error(name, message)

    def save(self, commit=True):
        grant = super().save(commit=False)
        grant.mailboxes = self.cleaned_data["mailboxes_text"]
        day = self.cleaned_data["expires_on"]
        grant.expires_at = timezone.make_aware(
            timezone.datetime(day.year, day.month, day.day, 23, 59, 59)
        )
        if commit:
            grant.save()
        return grant


def model_problems(app, model, scope) -> list[tuple[str, str]]:
    """(field, message) for a permission model that the application's Exchange does not offer."""
    online = app.tenant.kind == app.tenant.Kind.ONLINE
    problems = []
    if model == Grant.Model.IMPERSONATION and online:
        problems.append(("model", _("ApplicationImpersonation was removed from Exchange Online "
                                    "in February 2025; use RBAC for Applications.")))  # fmt: skip
    if model in (Grant.Model.RBAC, Grant.Model.ACCESS_POLICY, Grant.Model.ENTRA) and not online:
        problems.append(("model", _("This model exists only in Exchange Online.")))
    if model == Grant.Model.ACCESS_POLICY and scope not in (Grant.Scope.GROUP, None, ""):
        problems.append(("scope", _("An Application Access Policy is scoped to one "
                                    "mail-enabled security group.")))  # fmt: skip
    if model == Grant.Model.FULL_ACCESS and scope != Grant.Scope.LIST:
        problems.append(("scope", _("FullAccess is given per mailbox: list the mailboxes.")))
    if model in (Grant.Model.FULL_ACCESS, Grant.Model.IMPERSONATION) and not (
        app.service_account or app.client_id
    ):
        problems.append(("application", _("The application needs a service account or "
                                          "client id for this model.")))  # fmt: skip
    return problems


class DecisionForm(forms.Form):
    note = forms.CharField(
        label=_("Note"), required=False, max_length=500,
        validators=[validate_single_line],
    )  # fmt: skip


class TenantEwsForm(forms.ModelForm):
    allowed_text = forms.CharField(
        label=_("EWSAllowedAppIDs"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Application (client) ids from Get-OrganizationConfig, one per line."),
    )  # fmt: skip

    class Meta:
        model = TenantEws
        fields = ["ews_enabled"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["allowed_text"].initial = "\n".join(self.instance.allowed_app_ids or [])

    def clean_allowed_text(self):
        ids = []
        for item in re.split(r"[\s,;]+", self.cleaned_data.get("allowed_text", "")):
            if not item:
                continue
            if not re.fullmatch(r"[0-9A-Za-z-]{1,80}", item):
                raise ValidationError(_("“%(v)s” is not an application id."), params={"v": item})
            if item.lower() not in ids:
                ids.append(item.lower())
        return ids

    def save(self, commit=True):
        state = super().save(commit=False)
        state.allowed_app_ids = self.cleaned_data["allowed_text"]
        if commit:
            state.save()
        return state
