"""Production settings plus a test-only URL (tests/liveserver_urls.py): what the real-server
tests (tests/core/test_timeouts.py) run Gunicorn with. Production's URLs stay as they are."""

from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "tests.liveserver_urls"
