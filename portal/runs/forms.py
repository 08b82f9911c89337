from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from connectivity.probes.core import InvalidInput, reject_crlf
from portal.runs.models import Probe, Schedule
from portal.tenants.forms import clean_host, parse_pem_certificates

ADHOC_PROBES = [(p.value, p.label) for p in (Probe.SMTP, Probe.IMAP, Probe.POP3, Probe.TLS,
                                              Probe.TCP, Probe.DNS)]  # fmt: skip


class AdhocForm(forms.Form):
    probe = forms.ChoiceField(label=_("Test"), choices=ADHOC_PROBES)
    host = forms.CharField(label=_("Host or domain"), max_length=253)
    port = forms.IntegerField(label=_("Port"), required=False, min_value=1, max_value=65535)
    security = forms.ChoiceField(
        label=_("Security"), required=False,
        choices=[("starttls", _("STARTTLS")), ("tls", _("Implicit TLS")), ("none", _("None"))],
    )  # fmt: skip
    username = forms.CharField(label=_("User name"), required=False, max_length=254)
    password = forms.CharField(
        label=_("Password"), required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("Used for this run only, never stored."),
    )  # fmt: skip
    mail_from = forms.CharField(label=_("Test message from"), required=False, max_length=254)
    rcpt_to = forms.CharField(label=_("Test message to"), required=False, max_length=254)
    ca_bundle = forms.CharField(
        label=_("Custom CA bundle (PEM)"), required=False, max_length=200_000,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text=_("The root certificate of a private CA the server's certificate comes from "
                    "(-----BEGIN CERTIFICATE-----); trusted for this run only."),
    )  # fmt: skip

    def clean_host(self):
        host = clean_host(self.cleaned_data["host"])
        if not host:
            raise ValidationError(_("Enter a host name or IP address."))
        return host

    def _clean_address(self, name):
        value = self.cleaned_data.get(name, "").strip()
        if value:
            try:
                reject_crlf(name, value)
                validate_email(value)
            except (InvalidInput, ValidationError):
                raise ValidationError(_("Enter a plain email address on one line."))
        return value

    def clean_ca_bundle(self):
        text = self.cleaned_data.get("ca_bundle", "").strip()
        if text:
            if "PRIVATE KEY" in text:
                raise ValidationError(_("Paste only certificates: never a private key."))
            parse_pem_certificates(text)
            text += "\n"
        return text

    def clean_mail_from(self):
        return self._clean_address("mail_from")

    def clean_rcpt_to(self):
        return self._clean_address("rcpt_to")

    def clean_username(self):
        value = self.cleaned_data.get("username", "")
        if any(c in value for c in "\r\n\0"):
            raise ValidationError(_("The user name must be a single line."))
        return value

    def clean(self):
        data = super().clean()
        probe = data.get("probe")
        if probe == Probe.TCP and not data.get("port"):
            self.add_error("port", _("A TCP test needs a port."))
        if bool(data.get("mail_from")) != bool(data.get("rcpt_to")):
            self.add_error("rcpt_to", _("Give both the sender and the recipient, or neither."))
        if data.get("mail_from") and probe != Probe.SMTP:
            self.add_error("mail_from", _("A test message is only sent by the SMTP test."))
        return data

    def params(self) -> dict:
        """What is stored with the run: everything but the password."""
        data = self.cleaned_data
        keep = ("host", "port", "security", "username", "mail_from", "rcpt_to", "ca_bundle")
        params = {k: data.get(k) for k in keep if data.get(k) not in (None, "")}
        if data["probe"] not in {Probe.SMTP, Probe.IMAP, Probe.POP3}:
            params.pop("security", None)
            params.pop("username", None)
        if data["probe"] in {Probe.DNS, Probe.TCP}:  # no TLS, so no certificate to trust
            params.pop("ca_bundle", None)
        return params


class ScheduleForm(forms.ModelForm):
    notify_text = forms.CharField(
        label=_("Email on state change"), required=False,
        help_text=_("Comma-separated addresses; mailed when the result changes."),
    )  # fmt: skip

    class Meta:
        model = Schedule
        fields = ["probe", "interval_minutes", "enabled"]

    def clean_interval_minutes(self):
        value = self.cleaned_data["interval_minutes"]
        if not 1 <= value <= 7 * 24 * 60:
            raise ValidationError(_("Choose between 1 minute and 7 days (10080 minutes)."))
        return value

    def clean_notify_text(self):
        emails = []
        for item in self.cleaned_data.get("notify_text", "").replace(";", ",").split(","):
            item = item.strip()
            if item:
                try:
                    reject_crlf("email", item)
                    validate_email(item)
                except (InvalidInput, ValidationError):
                    raise ValidationError(_("“%(v)s” is not an email address."), params={"v": item})
                emails.append(item)
        return emails
