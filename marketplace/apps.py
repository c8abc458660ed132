from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class MarketplaceConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "marketplace"
    verbose_name = _("Platform")

    def ready(self):
        from . import converters, roles

        # Before any URLconf is imported: app urls and API routers use these converters.
        converters.register()

        # Permissions of every app exist only after post_migrate has created them, so the
        # staff groups get theirs here, each time migrations run (idempotent).
        post_migrate.connect(roles.sync_staff_groups_after_migrate, dispatch_uid="sync_staff_groups")
