from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "orders"
    verbose_name = _("Orders")

    def ready(self):
        # lazy: the views import the models, which exist only once the app registry is ready.
        from django.contrib.auth.signals import user_logged_in

        from .views import merge_cart_on_login

        # The house avoids signals for domain flow, but a login happens inside Django's auth
        # views (and sign-up), and `user_logged_in` is the one hook they offer: the
        # anonymous cart must join the buyer's cart at that moment, wherever the login is.
        user_logged_in.connect(merge_cart_on_login, dispatch_uid="orders.merge_cart_on_login")
