from django.apps import AppConfig


class GrantsConfig(AppConfig):
    name = "portal.grants"
    label = "grants"
    verbose_name = "Application permission grants"
