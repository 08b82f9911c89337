from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "portal.integrations"
    label = "integrations"
    verbose_name = "SharePoint and Skype for Business integrations"

    def ready(self):
        from portal.integrations import config, jobkinds  # noqa: F401 - config registers integrations:

        jobkinds.register()
