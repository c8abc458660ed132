from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SettlementsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "settlements"
    verbose_name = _("Settlements")

    def ready(self):
        # lazy: defaults reads the models, which exist only once the app registry is ready.
        from django.db.models.signals import post_migrate

        from .defaults import ensure_default_charges

        # Also after a test database flush: penalty amounts, fees and plans are reference data.
        post_migrate.connect(ensure_default_charges, dispatch_uid="settlements_default_charges")
