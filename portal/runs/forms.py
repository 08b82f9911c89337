import json

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from connectivity.probes.core import InvalidInput, reject_crlf
from portal.lib.validators import normalize_host, validate_single_line
from portal.runs.models import TENANT_PROBES, Probe, Schedule
from portal.tenants.forms import parse_pem_certificates, show_if

ADHOC_PROBES = [(p.value, p.label) for p in (Probe.SMTP, Probe.IMAP, Probe.POP3, Probe.TLS,
                                              Probe.TCP, Probe.DNS)]  # fmt: skip
MAIL = [Probe.SMTP, Probe.IMAP, Probe.POP3]
# The usual port and security of each test: filled in when the form leaves them empty, and
# offered to the browser so choosing a test fills them in (TCP has no usual port, DNS none at all).
ADHOC_DEFAULTS = {
    Probe.SMTP: {"port": 587, "security": "starttls"},
    Probe.IMAP: {"port": 993, "security": "tls"},
    Probe.POP3: {"port": 995, "security": "tls"},
    Probe.TLS: {"port": 443, "security": ""},
    Probe.TCP: {"port": None, "security": ""},
    Probe.DNS: {"port": None, "security": ""},
}
CA_FILE_LIMIT = 200_000


class AdhocForm(forms.Form):
    probe = forms.ChoiceField(
        label=_("Test"), choices=ADHOC_PROBES,
        widget=forms.Select(attrs={"data-defaults": json.dumps(
            {str(k): v for k, v in ADHOC_DEFAULTS.items()})}),
    )  # fmt: skip
    host = forms.CharField(label=_("Host or domain"), max_length=253)
    port = forms.IntegerField(
        label=_("Port"), required=False, min_value=1, max_value=65535,
        help_text=_("Empty: the test's usual port — SMTP 587, IMAP4 993, POP3 995, TLS 443."),
    )  # fmt: skip
    security = forms.ChoiceField(
        label=_("Security"), required=False,
        choices=[("", _("Usual for the test (SMTP STARTTLS, IMAP4 and POP3 implicit TLS)")),
                 ("starttls", _("STARTTLS")), ("tls", _("Implicit TLS")), ("none", _("None"))],
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
    ca_file = forms.FileField(
        label=_("…or upload the CA bundle as a file"), required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".pem,.crt,.cer,.txt"}),
        help_text=_("A PEM file of up to 200 KB; used instead of pasting it above."),
    )  # fmt: skip

    # Which fields belong to which test: the page shows only those of the chosen test
    # (every field shows without JavaScript; clean() ignores what the test does not use).
    SHOW_IF = {
        "port": {"probe": [Probe.SMTP, Probe.IMAP, Probe.POP3, Probe.TLS, Probe.TCP]},
        "security": {"probe": MAIL},
        "username": {"probe": MAIL},
        "password": {"probe": MAIL},
        "mail_from": {"probe": [Probe.SMTP]},
        "rcpt_to": {"probe": [Probe.SMTP]},
        "ca_bundle": {"probe": [*MAIL, Probe.TLS]},
        "ca_file": {"probe": [*MAIL, Probe.TLS]},
    }

    def rows(self):
        """(field, data-show-if value) for the template."""
        return [(field, show_if(self.SHOW_IF.get(field.name))) for field in self]

    def clean_host(self):
        host = normalize_host(self.cleaned_data["host"])
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

    def clean_ca_file(self):
        upload = self.cleaned_data.get("ca_file")
        if not upload:
            return ""
        if upload.size > CA_FILE_LIMIT:
            raise ValidationError(
                _("The file is larger than 200 KB: upload only the CA's certificates.")
            )
        try:
            text = upload.read().decode("utf-8").strip()
        except UnicodeDecodeError:
            raise ValidationError(
                _("Upload a PEM text file (-----BEGIN CERTIFICATE-----), not a binary one.")
            )
        if "PRIVATE KEY" in text:
            raise ValidationError(_("Upload only certificates: never a private key."))
        parse_pem_certificates(text)
        return text + "\n"

    def clean_mail_from(self):
        return self._clean_address("mail_from")

    def clean_rcpt_to(self):
        return self._clean_address("rcpt_to")

    def clean_username(self):
        value = self.cleaned_data.get("username", "")
        validate_single_line(value)
        return value

    def clean_password(self):
        value = self.cleaned_data.get("password", "")
        validate_single_line(value)
        return value

    def clean(self):
        data = super().clean()
        probe = data.get("probe")
        # Fields the chosen test does not use are ignored, errors included: the page hid them.
        for name, shown in self.SHOW_IF.items():
            if probe and probe not in shown["probe"]:
                self.errors.pop(name, None)
                data.pop(name, None)
        if data.get("ca_file"):
            if data.get("ca_bundle"):
                self.add_error("ca_file", _("Paste the CA bundle or upload it, not both."))
            else:
                data["ca_bundle"] = data["ca_file"]
        defaults = ADHOC_DEFAULTS.get(probe, {})
        for name in ("port", "security"):
            if not data.get(name) and defaults.get(name) and name not in self.errors:
                data[name] = defaults[name]
        if probe == Probe.TCP and not data.get("port") and "port" not in self.errors:
            self.add_error("port", _("A TCP test needs a port."))
        if bool(data.get("mail_from")) != bool(data.get("rcpt_to")):
            self.add_error("rcpt_to", _("Give both the sender and the recipient, or neither."))
        return data

    def params(self) -> dict:
        """What is stored with the run: everything the test uses but the password."""
        data = self.cleaned_data
        keep = ("host", "port", "security", "username", "mail_from", "rcpt_to", "ca_bundle")
        return {k: data.get(k) for k in keep if data.get(k) not in (None, "")}


class ScheduleForm(forms.ModelForm):
    # Only what a tenant can run (and a schedule can save): never TCP, which needs a port.
    probe = forms.ChoiceField(label=_("Test"), choices=[(p.value, p.label) for p in TENANT_PROBES])
    interval_minutes = forms.IntegerField(label=_("Every (minutes)"), initial=15)
    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)
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
