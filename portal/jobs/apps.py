import os

from django.apps import AppConfig
from django.conf import settings


class JobsConfig(AppConfig):
    name = "portal.jobs"
    label = "jobs"
    verbose_name = "Jobs"

    def ready(self):
        from portal.jobs import signals  # noqa: F401

        # kombu's filesystem transport (the embedded broker) expects its folders to exist.
        options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {}
        for key in ("data_folder_in", "data_folder_out", "control_folder"):
            if options.get(key):
                os.makedirs(options[key], exist_ok=True)
