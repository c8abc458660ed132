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
