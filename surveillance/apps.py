from django.apps import AppConfig


class SurveillanceConfig(AppConfig):
    name = "surveillance"
    label = "surveillance"
    verbose_name = "Market surveillance"
    default_auto_field = "django.db.models.BigAutoField"
