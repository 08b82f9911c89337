from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "portal.runs"
    label = "runs"
    verbose_name = "Connectivity runs"

    def ready(self):
        from portal.runs import jobkinds

        jobkinds.register()
