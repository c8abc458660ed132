from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class MarketplaceConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "marketplace"
    verbose_name = _("Platform")

    def ready(self):
        # lazy: these modules read settings and models, which exist only once the registry is ready.
        from django.conf import settings
        from PIL import Image

        from . import converters, roles, sandbox  # noqa: F401 (sandbox registers its deploy check)

        # Before any URLconf is imported: app urls and API routers use these converters.
        converters.register()

        # Pillow's decompression-bomb limit is the platform's (marketplace.images), so any
        # other use of Pillow refuses what the upload checks refuse.
        Image.MAX_IMAGE_PIXELS = settings.MAX_IMAGE_PIXELS

        # Permissions of every app exist only after post_migrate has created them, so the
        # staff groups get theirs here, each time migrations run (idempotent).
        post_migrate.connect(roles.sync_staff_groups_after_migrate, dispatch_uid="sync_staff_groups")
