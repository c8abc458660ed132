from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MerchantsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "merchants"
    verbose_name = _("Merchants")

    def ready(self):
        # lazy: defaults reads the models, which exist only once the app registry is ready.
        from django.db.models.signals import post_migrate

        from .defaults import ensure_default_tiers

        # Also after a test database flush: the tiers are reference data every merchant needs.
        post_migrate.connect(ensure_default_tiers, dispatch_uid="merchants_default_tiers")
