from django.apps import AppConfig


class ConfigurationConfig(AppConfig):
    name = "portal.configuration"
    label = "configuration"
    verbose_name = "Configuration as code"

    def ready(self):
        # The record kinds this app knows itself; later apps register theirs in their own ready().
        from portal.configuration import schedules, tenants  # noqa: F401
