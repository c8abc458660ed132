from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RiskConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "risk"
    verbose_name = _("Risk")

    def ready(self):
        # lazy: the receivers' services read the models, which exist once the registry is ready.
        from merchants.signals import bank_account_changed, credit_grade_changed

        from . import receivers
        from .signals import quarterly_evaluation_completed

        # Risk alerts (issue #15).
        credit_grade_changed.connect(receivers.credit_grade_changed, dispatch_uid="risk.alert_credit_grade")
        quarterly_evaluation_completed.connect(
            receivers.quarterly_evaluation_completed, dispatch_uid="risk.alert_quarterly_score"
        )
        bank_account_changed.connect(receivers.bank_account_changed, dispatch_uid="risk.payout_hold")
