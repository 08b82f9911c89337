from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RelayConfig(AppConfig):
    name = "portal.relay"
    verbose_name = _("SMTP relay")

    def ready(self):
        from portal.relay import config, jobkinds  # noqa: F401 - config registers relay_clients:

        jobkinds.register()
