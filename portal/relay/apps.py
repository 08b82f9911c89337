from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RelayConfig(AppConfig):
    name = "portal.relay"
    verbose_name = _("SMTP relay")

    def ready(self):
        from portal.relay import jobkinds

        jobkinds.register()
