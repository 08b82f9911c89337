from django.apps import AppConfig


class GrantsConfig(AppConfig):
    name = "portal.grants"
    label = "grants"
    verbose_name = "Application permission grants"

    def ready(self):
        from portal.grants import config, jobkinds  # noqa: F401 - config registers its tables

        jobkinds.register()
