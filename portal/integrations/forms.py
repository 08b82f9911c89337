from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from connectivity import lifecycle
from portal.integrations.models import (
    SHAREPOINT_FEATURES,
    SKYPE_FEATURES,
    Feature,
    Integration,
    TenantProfile,
)
from portal.lib.validators import normalize_host, validate_single_line

SINGLE_LINE = ("name", "account", "owner", "test_mailbox", "site_mailbox", "web_app_url")
HOSTS = ("pool_fqdn", "edge_fqdn", "sip_domain")


class IntegrationForm(forms.ModelForm):
    features = forms.MultipleChoiceField(
        label=_("Exchange features used"), choices=Feature.choices,
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip
    notify_emails_text = forms.CharField(
        label=_("Email on status change"), required=False,
        help_text=_("Addresses, comma-separated or one per line; one email per status change."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )  # fmt: skip

    class Meta:
        model = Integration
        fields = ["tenant", "name", "product", "features", "web_app_url", "site_mailbox",
                  "pool_fqdn", "pool_port", "edge_fqdn", "sip_domain", "account", "test_mailbox",
                  "owner", "notes"]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["notify_emails_text"].initial = ", ".join(self.instance.notify_emails)
            self.fields["tenant"].disabled = True  # an integration belongs to one tenant

    def clean(self):
        data = super().clean()
        for name in SINGLE_LINE:
            try:
                validate_single_line(data.get(name))
            except ValidationError as exc:
                self.add_error(name, exc)
        for name in HOSTS:
            try:
                data[name] = normalize_host(data.get(name) or "")
            except ValidationError as exc:
                self.add_error(name, exc)
        url = data.get("web_app_url") or ""
        if url and not url.lower().startswith("https://"):
            self.add_error("web_app_url", _("Use the https:// address of the web application."))
        port = data.get("pool_port")
        if port is not None and not 1 <= port <= 65535:
            self.add_error("pool_port", _("A port is a number from 1 to 65535."))
        product = data.get("product")
        features = data.get("features") or []
        if product:
            family = lifecycle.PRODUCTS[product].family
            allowed = SHAREPOINT_FEATURES if family == "sharepoint" else SKYPE_FEATURES
            wrong = [f for f in features if f not in allowed]
            if wrong:
                self.add_error("features", _("%(product)s does not use: %(features)s.") % {
                    "product": lifecycle.PRODUCTS[product].label,
                    "features": ", ".join(str(Feature(f).label) for f in wrong)})  # fmt: skip
        emails = [e.strip() for e in (data.get("notify_emails_text") or "").replace("\n", ",")
                  .split(",") if e.strip()]  # fmt: skip
        for email in emails:
            try:
                validate_email(email)
            except ValidationError:
                self.add_error(
                    "notify_emails_text",
                    _("“%(value)s” is not an email address.") % {"value": email},
                )
        data["notify_emails"] = emails
        return data

    def save(self, commit=True):
        self.instance.notify_emails = self.cleaned_data["notify_emails"]
        self.instance.features = [f for f in Feature.values if f in self.cleaned_data["features"]]
        return super().save(commit)


class ProfileForm(forms.ModelForm):
    class Meta:
        model = TenantProfile
        fields = ["plan", "exchange_version", "cumulative_update"]

    def clean_cumulative_update(self):
        value = self.cleaned_data.get("cumulative_update", "").strip()
        validate_single_line(value)
        return value
