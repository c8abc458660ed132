"""WSGI entry point (gunicorn marketplace.wsgi).

The flash-sale admission, the add-to-cart and the checkout with an API token are served by a
lean Django handler (their own URL configurations, the middleware they need:
marketplace/lean.py); every other request by Django's.
"""

import os

from django.core.wsgi import get_wsgi_application

from marketplace import lean

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")

# Django is set up first: the lean URL configuration imports the apps' views.
application = lean.application(get_wsgi_application())
