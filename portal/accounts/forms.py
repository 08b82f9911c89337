from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from portal.lib.access import Role

ROLE_CHOICES = [
    ("viewer", _("Viewer")),
    ("operator", _("Operator")),
    ("admin", _("Admin")),
]
ROLE_BY_NAME = {"none": Role.NONE, "viewer": Role.VIEWER, "operator": Role.OPERATOR,
                "admin": Role.ADMIN}  # fmt: skip


class InviteForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    email = forms.EmailField(label=_("Email"))
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES, initial="viewer")

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        model = get_user_model()
        model.username_validator(username)
        if model.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("This username is taken."))
        return username

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(_("An account with this email exists."))
        return email


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=[("none", _("No access")), *ROLE_CHOICES])
