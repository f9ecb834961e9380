"""Test overrides: fast hasher, mail kept in memory, tasks run immediately."""

import os

os.environ.setdefault("HALLES_VAR_DIR", "/tmp/halles-test-var")

from .settings import *  # noqa: F403
from .settings import DATABASES

# Live-server threads must not keep connections past their request (PostgreSQL could not
# drop the test database at the end).
DATABASES["default"]["CONN_MAX_AGE"] = 0
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}
    # In memory there is no WAL; keep foreign keys on.
    DATABASES["default"]["OPTIONS"]["init_command"] = "PRAGMA foreign_keys=ON;"

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LANGUAGE_CODE = "fr"
# The sandbox keeps its callbacks instead of POSTing them to a server that is not there;
# tests that exercise the HTTP path point it at their live server.
HALLES_SANDBOX_WEBHOOK_URL = ""
