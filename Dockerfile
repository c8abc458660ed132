# Production image: gunicorn serves the web app; the same image runs the worker and beat.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update && apt-get install -y --no-install-recommends gettext && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 1000 app
WORKDIR /app

COPY pyproject.toml requirements.lock ./
RUN pip install --no-cache-dir -c requirements.lock \
    $(python -c 'import tomllib; print(" ".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))')
COPY . .
# collectstatic and compilemessages only need settings that parse: throwaway values here.
RUN DEBUG=1 python manage.py compilemessages --ignore .venv -v 0 \
 && DEBUG=0 SECRET_KEY=build-only REDIS_URL=redis://build:6379/0 FIELD_ENCRYPTION_KEYS=build:00000000000000000000000000000000 \
    SANDBOX_GATEWAY_SECRET=build-only-build-only-build-only-build-only \
    python manage.py collectstatic --no-input -v 0 \
 && mkdir -p /app/var/media && chown -R app /app/var
USER app
EXPOSE 8000
# Workers, threads and connection reuse: gunicorn.conf.py and CONN_MAX_AGE (README, Configuration).
CMD ["gunicorn", "marketplace.wsgi"]
