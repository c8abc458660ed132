"""WSGI entry point (gunicorn marketplace.wsgi).

The flash-sale admission with an API token is served by a lean Django handler (its own URL
configuration, the middleware it needs: marketplace/lean.py); every other request by Django's.
"""

import os

from django.core.wsgi import get_wsgi_application

from marketplace import lean

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")

# Django is set up first: the lean URL configuration imports the apps' views.
application = lean.application(get_wsgi_application())
