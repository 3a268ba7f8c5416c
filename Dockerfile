# syntax=docker/dockerfile:1
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /venv
COPY requirements.txt /tmp/requirements.txt
RUN /venv/bin/pip install -r /tmp/requirements.txt

FROM python:3.11-slim
ENV PATH=/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production
RUN useradd --create-home --uid 10001 brisk
COPY --from=build /venv /venv
WORKDIR /app
COPY --chown=brisk:brisk . .
USER brisk
EXPOSE 8000
CMD ["gunicorn", "-c", "gunicorn_config.py", "config.wsgi"]
