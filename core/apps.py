from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        # Every process that writes (Gunicorn workers, management commands, shells, Celery
        # alike) bumps the catalogue generations: the write watcher goes on every database
        # connection from here, not from the middleware, which only web workers load.
        from core import catalogue_cache

        catalogue_cache.install_write_watchers()
