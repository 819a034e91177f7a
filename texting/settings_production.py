"""Production settings: ``DJANGO_SETTINGS_MODULE=texting.settings_production``.

Everything of ``texting.settings`` plus the hardening that ``manage.py check --deploy``
asks for. Refuses to start without a real SECRET_KEY.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from texting.settings import *  # noqa: F403
from texting.settings import DATABASES, env_bool, env_int

DEBUG = env_bool("DEBUG", False)
if not os.environ.get("SECRET_KEY") or len(os.environ["SECRET_KEY"]) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be set to a random string of 50+ characters in production")
SECRET_KEY = os.environ["SECRET_KEY"]

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# --- Persistent database connections (issue 11, fast inbound path) --------------------------
# A connection per request costs a PostgreSQL back-end start (~2-5 ms, more with TLS) on every
# webhook. Keep each worker's connection for 10 minutes; check it is alive before reusing it
# (a database restart or a dropped connection costs one failed check, never a 500).
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 600)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env_bool("DB_CONN_HEALTH_CHECKS", True)
