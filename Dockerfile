# syntax=docker/dockerfile:1
# Brisk LMS API image: `docker build -t brisk-lms .` (docker-compose.yml runs it).

# --- build: dependencies into a virtualenv; only /venv leaves this stage ---------------
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /venv
COPY requirements.txt /tmp/requirements.txt
# Wheels only (psycopg[binary], hiredis, orjson ship them): no compiler in either stage.
RUN /venv/bin/pip install --only-binary=:all: -r /tmp/requirements.txt

# --- runtime ----------------------------------------------------------------------------
FROM python:3.11-slim
ENV PATH=/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin brisk
COPY --from=build /venv /venv
WORKDIR /app
# Code and collected static files belong to root: the app user can read, not change them.
COPY . .
# The admin's static files, hashed and compressed for WhiteNoise. Production settings
# insist on these three variables; these values exist for this command only and are not
# part of the image's environment.
RUN SECRET_KEY=collectstatic-at-build-time-only-not-used-to-sign-anything-0123456789 \
    DATABASE_URL=sqlite:////tmp/unused.sqlite3 ALLOWED_HOSTS=build \
    python manage.py collectstatic --noinput \
    && python -m compileall -q /app
USER brisk
EXPOSE 8000
# No curl in slim images: Python asks /healthz (answered before host checks and the HTTPS
# redirect, so plain HTTP to 127.0.0.1 works).
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
# Migrations are a separate one-off step (docker-compose.yml's `migrate` service), so
# several web containers never run them at once.
CMD ["gunicorn", "-c", "gunicorn_config.py", "config.wsgi"]
