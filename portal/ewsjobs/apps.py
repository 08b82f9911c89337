from django.apps import AppConfig


class EwsJobsConfig(AppConfig):
    name = "portal.ewsjobs"
    label = "ewsjobs"
    verbose_name = "EWS jobs"

    def ready(self):
        from portal.ewsjobs import jobkinds

        jobkinds.register()
