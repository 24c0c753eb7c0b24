from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "defect_platform.core"
    label = "core"
    verbose_name = "Projects and roles"
