"""Halles settings: one module, driven by environment variables (see docs/operations.md)."""

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent  # src/halles
PROJECT_DIR = Path(os.environ.get("HALLES_HOME", Path.cwd()))
VAR_DIR = Path(os.environ.get("HALLES_VAR_DIR", PROJECT_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("HALLES_DEBUG", False)
VAR_DIR.mkdir(parents=True, exist_ok=True)
(VAR_DIR / "static").mkdir(exist_ok=True)


def _secret_key() -> str:
    """HALLES_SECRET_KEY, else a random key made once and kept in var/secret_key."""
    if os.environ.get("HALLES_SECRET_KEY"):
        return os.environ["HALLES_SECRET_KEY"]
    path = VAR_DIR / "secret_key"
    if not path.exists():
        import secrets

        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = env_list("HALLES_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("HALLES_CSRF_TRUSTED_ORIGINS", "")
# The absolute address of the site, used in links sent by e-mail.
SITE_URL = os.environ.get(
    "HALLES_SITE_URL", f"http://127.0.0.1:{os.environ.get('PORT', '8000')}"
).rstrip("/")

INSTALLED_APPS = [
    "halles.backoffice.apps.BackofficeConfig",  # replaces django.contrib.admin
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "halles.core",
    "halles.accounts",
    "halles.marketplaces",
    "halles.notifications",
    "halles.shops",
    "halles.catalog",
    "halles.shipping",
    "halles.payments",
    "halles.orders",
    "halles.checkout",
    "halles.api",
    "halles.storefront",
    "halles.seller",
    "halles.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "halles.marketplaces.middleware.MarketplaceMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "halles.accounts.middleware.LanguageMiddleware",
    "halles.marketplaces.middleware.MarketplaceAccessMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "halles.config.urls"
WSGI_APPLICATION = "halles.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "halles.marketplaces.context_processors.marketplace",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# DATABASE_URL selects the database; the default is SQLite (WAL) under var/.
DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'halles.sqlite3'}")
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=int(os.environ.get("HALLES_CONN_MAX_AGE", "600"))
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # Write transactions take the lock at BEGIN: no "database is locked" upgrade deadlocks.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
        ),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts -------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "storefront:login"
LOGIN_REDIRECT_URL = "storefront:account"
LOGOUT_REDIRECT_URL = "storefront:home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Links in verification and reset e-mails stay valid for 3 days.
PASSWORD_RESET_TIMEOUT = 3 * 24 * 3600

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("HALLES_TIME_ZONE", "Europe/Paris")
USE_I18N = True
USE_TZ = True

# --- Static and media files -----------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = VAR_DIR / "media"
SERVE_MEDIA = env_bool("HALLES_SERVE_MEDIA", True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True  # serve straight from the apps, no collectstatic needed

# --- Background tasks -----------------------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": os.environ.get(
            "HALLES_TASKS_BACKEND", "django_tasks_db.backend.DatabaseBackend"
        ),
    }
}

# Periodic jobs (deadline sweeps): `halles scheduler` (started by `halles serve`) queues each
# task every so many seconds; `halles sweep` runs them all once (e.g. from cron).
HALLES_PERIODIC_TASKS = [
    ("halles.orders.tasks.sweep_order_deadlines", 60),
    ("halles.payments.tasks.sweep_sandbox_webhooks", 30),
    ("halles.checkout.tasks.sweep_abandoned_checkouts", 60),
    ("halles.catalog.tasks.sweep_stalled_imports", 60),
]
# A running offer import whose heartbeat (saved after each chunk of 1,000 rows) is older
# than this is taken for dead (its worker stopped) and resumed by sweep_stalled_imports.
HALLES_IMPORT_STALL_MINUTES = int(os.environ.get("HALLES_IMPORT_STALL_MINUTES", "10"))

# --- Payments -------------------------------------------------------------------------------
# Providers by code; the built-in sandbox is the default. Its callbacks are signed with
# HALLES_SANDBOX_SECRET and POSTed to HALLES_SANDBOX_WEBHOOK_URL (default: this site).
HALLES_PAYMENT_PROVIDERS = {"sandbox": "halles.payments.sandbox.provider.SandboxProvider"}
HALLES_DEFAULT_PAYMENT_PROVIDER = os.environ.get("HALLES_PAYMENT_PROVIDER", "sandbox")
HALLES_SANDBOX_SECRET = os.environ.get("HALLES_SANDBOX_SECRET", SECRET_KEY + ":sandbox")
HALLES_SANDBOX_WEBHOOK_URL = os.environ.get(
    "HALLES_SANDBOX_WEBHOOK_URL", SITE_URL.rstrip("/") + "/payments/webhooks/sandbox/"
)
# An order whose payment is not completed within this delay is abandoned (stock given back).
HALLES_PAYMENT_SESSION_MINUTES = int(os.environ.get("HALLES_PAYMENT_SESSION_MINUTES", "30"))
# Sellers see a per-order alias at this domain instead of the buyer's e-mail address.
HALLES_ALIAS_DOMAIN = os.environ.get("HALLES_ALIAS_DOMAIN", "clients.halles.test")

# --- E-mail ---------------------------------------------------------------------------------
# Every e-mail goes through the outbox (halles.notifications); this backend delivers it.
# The default keeps each message as a file under var/mail/, and the back-office lists them.
EMAIL_BACKEND = os.environ.get(
    "HALLES_EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend"
)
EMAIL_FILE_PATH = VAR_DIR / "mail"
EMAIL_HOST = os.environ.get("HALLES_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("HALLES_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("HALLES_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("HALLES_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("HALLES_EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = int(os.environ.get("HALLES_EMAIL_TIMEOUT", "30"))  # a hung server frees the worker
DEFAULT_FROM_EMAIL = os.environ.get("HALLES_DEFAULT_FROM_EMAIL", "Halles <no-reply@halles.test>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Security -------------------------------------------------------------------------------
SESSION_COOKIE_SECURE = env_bool("HALLES_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("HALLES_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
