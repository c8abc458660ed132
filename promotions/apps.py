from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PromotionsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "promotions"
    verbose_name = _("Promotions")

    def ready(self):
        # lazy: the receiver's module reads the models, which exist once the registry is ready.
        from merchants.signals import credit_grade_changed

        from .pagecache import merchant_grade_pages_invalidate

        # The pages that rank or exclude shops by grade go stale when a grade changes.
        credit_grade_changed.connect(merchant_grade_pages_invalidate, dispatch_uid="promotions_grade_pages")

        # lazy, as above: the receivers read the token model.
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_delete, post_save
        from rest_framework.authtoken.models import Token

        from .api import flash_tokens

        # The admission caches a token's user (api/flash_tokens.py); a token can be revoked
        # anywhere (the admin, a shell, DRF's rotation), and these hooks see every way.
        post_delete.connect(flash_tokens.token_deleted, sender=Token, dispatch_uid="promotions.flash_token_deleted")
        post_save.connect(flash_tokens.user_saved, sender=get_user_model(), dispatch_uid="promotions.flash_user_saved")
