#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")
    # The command line is a developer's tool: without DEBUG in the environment (or .env),
    # manage.py runs in development mode so `makemigrations`, `check` and the like work on a
    # fresh clone. Deployments set DEBUG=0 explicitly (docker-compose, Dockerfile), and the
    # web (wsgi/asgi) and Celery entry points keep the secure default.
    if "DEBUG" not in os.environ and not os.path.exists(os.path.join(os.path.dirname(__file__), ".env")):
        os.environ["DEBUG"] = "1"
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
