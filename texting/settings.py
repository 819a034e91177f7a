"""Settings for Texting, read from the environment with defaults that work on a fresh clone.

Every variable is listed in ``.env.example`` and the README. A malformed value fails at
start-up with a message naming the variable, never later in a request.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


def _env_number(name: str, default, parse, kind: str):
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return parse(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be {kind}, got {raw!r}") from None


def env_int(name: str, default: int) -> int:
    return _env_number(name, default, int, "an integer")


def env_float(name: str, default: float, *, minimum: float | None = None, maximum: float | None = None) -> float:
    value = _env_number(name, default, float, "a number")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ImproperlyConfigured(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


def env_choice(name: str, default: str, choices: set[str]) -> str:
    value = env(name, default)
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(sorted(choices))}, got {value!r}")
    return value


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


# --- Core -------------------------------------------------------------------------------

DEBUG = env_bool("DEBUG", True)
# A development key only; production settings refuse to start without SECRET_KEY.
SECRET_KEY = env("SECRET_KEY", "dev-insecure-texting-key-change-me-in-production-0123456789")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# Only when a trusted reverse proxy sets X-Forwarded-Host/-Proto/-Port may they be believed
# (webhook signatures are computed over the public URL the gateway called).
SMS_TRUST_PROXY = env_bool("SMS_TRUST_PROXY", False)
USE_X_FORWARDED_HOST = SMS_TRUST_PROXY
USE_X_FORWARDED_PORT = SMS_TRUST_PROXY
if SMS_TRUST_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "bootstrap",  # django-bootstrap-static: Bootstrap 5 files served by WhiteNoise
    "crispy_forms",
    "crispy_bootstrap5",
    "django_tables2",
    "django_filters",
    "sms",
    "campaigns",
    "replies",
    "modems",
    "links",
    "keywords",
    "stats",  # top floor: the Stats page and the chart module; nothing imports it
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "texting.middleware.StaffRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "texting.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "texting.wsgi.application"

# SQLite by default (zero set-up); DATABASE_URL=postgres://user@host:5432/name for PostgreSQL.
DATABASE_URL = env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
try:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            # Development: a connection per request. Production settings keep them (issue 11).
            conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
            conn_health_checks=env_bool("DB_CONN_HEALTH_CHECKS", False),
        )
    }
except Exception as exc:  # dj-database-url raises a bare ValueError/KeyError on a bad URL
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers wait for each other instead of failing with "database is locked";
    # IMMEDIATE makes a transaction take the write lock up front, so two dispatchers
    # never both read the same due rows and then collide on the upgrade to a write lock.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = env("LANGUAGE_CODE", "en-gb")
TIME_ZONE = env("TIME_ZONE", "Europe/London")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(BASE_DIR / "media")))
MEDIA_URL = "media/"

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"
DJANGO_TABLES2_TEMPLATE = "django_tables2/bootstrap5.html"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "WARNING")},
    "loggers": {
        "sms": {"level": env("LOG_LEVEL", "INFO")},
        "campaigns": {"level": env("LOG_LEVEL", "INFO")},
        "replies": {"level": env("LOG_LEVEL", "INFO")},
        "modems": {"level": env("LOG_LEVEL", "INFO")},
        "links": {"level": env("LOG_LEVEL", "INFO")},
        "keywords": {"level": env("LOG_LEVEL", "INFO")},
    },
}

# --- Messaging core (sms) -----------------------------------------------------------------

# Slug of the backend that sends by default: console (prints, DEBUG state), locmem, simulated,
# twilio, clickatell, smsbroadcast - or a dotted path to a backend class.
SMS_DEFAULT_BACKEND = env("SMS_DEFAULT_BACKEND", "console")
# Region used to read national numbers such as 07450 000000 (ISO 3166 code).
SMS_DEFAULT_REGION = env("SMS_DEFAULT_REGION", "GB")
# Sender id / number put on outbound texts when the route has none of its own.
SMS_DEFAULT_SENDER = env("SMS_DEFAULT_SENDER", "")
# False: replace letters outside GSM-7 (ą, ł, smart quotes...) with GSM-7 look-alikes so a text
# stays GSM-7 (pymess's PYMESS_SMS_USE_ACCENT). True (default): send the text as written.
SMS_USE_ACCENT = env_bool("SMS_USE_ACCENT", True)
SMS_DISPATCH_BATCH_SIZE = env_int("SMS_DISPATCH_BATCH_SIZE", 200)
SMS_MAX_ATTEMPTS = env_int("SMS_MAX_ATTEMPTS", 5)
SMS_RETRY_BASE_SECONDS = env_int("SMS_RETRY_BASE_SECONDS", 60)
SMS_RETRY_MAX_SECONDS = env_int("SMS_RETRY_MAX_SECONDS", 6 * 3600)
# A row left in SENDING longer than this (a dispatcher crashed mid-call) is resolved.
SMS_SENDING_TIMEOUT_SECONDS = env_int("SMS_SENDING_TIMEOUT_SECONDS", 600)
# Public base URL of this site, used to build status-callback URLs given to gateways.
SMS_PUBLIC_URL = env("SMS_PUBLIC_URL", "").rstrip("/")
# Dotted path of the callable that picks the route (SIM / gateway) of each outbound text.
# campaigns.routing.campaign_router holds campaign texts in quiet hours / while paused, then
# hands the rest to CAMPAIGNS_INNER_ROUTER (the default router, or the modems app's SIM router).
SMS_ROUTER = env("SMS_ROUTER", "campaigns.routing.campaign_router")
# Steps run on every stored inbound text, in order (like middleware). The inline steps run in
# the webhook's request, in the text's own transaction (keyword routing, STOP); the deferred
# ones after them: in the same transaction without a broker, on a worker after the commit with
# one (sms.tasks.process_inbound). A text a step left unfinished is taken up again by
# recover_inbound after SMS_INBOUND_RECOVER_SECONDS.
# Issue 11 (fast inbound path): only the link and the keyword routing (STOP/START/HELP, then
# configured keywords and their handlers) run inline; the classifier and auto-replies are
# deferred (a Celery task after the commit with a broker).
SMS_INBOUND_PIPELINE = env_list("SMS_INBOUND_PIPELINE", "sms.pipeline.link_conversation,keywords.pipeline.route")
SMS_INBOUND_DEFERRED_PIPELINE = env_list("SMS_INBOUND_DEFERRED_PIPELINE", "replies.pipeline.process")
SMS_INBOUND_RECOVER_SECONDS = env_int("SMS_INBOUND_RECOVER_SECONDS", 120)
# Model used by sms.api.send_template (pymess's PYMESS_SMS_TEMPLATE_MODEL).
SMS_TEMPLATE_MODEL = "campaigns.Template"
# Backend slug -> class; adding a gateway adds a line here, never an if-chain.
SMS_BACKENDS = {
    "console": "sms.backends.console.ConsoleBackend",
    "locmem": "sms.backends.locmem.LocmemBackend",
    "simulated": "sms.backends.simulated.SimulatedBackend",
    "twilio": "sms.backends.twilio.TwilioBackend",
    "clickatell": "sms.backends.clickatell.ClickatellBackend",
    "smsbroadcast": "sms.backends.smsbroadcast.SMSBroadcastBackend",
}
SMS_SIMULATED_DELIVERY_SECONDS = env_int("SMS_SIMULATED_DELIVERY_SECONDS", 5)

# Gateway credentials, under each gateway's conventional names.
TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN")
TWILIO_FROM_NUMBER = env("TWILIO_FROM_NUMBER")
TWILIO_MESSAGING_SERVICE_SID = env("TWILIO_MESSAGING_SERVICE_SID")
TWILIO_API_BASE = env("TWILIO_API_BASE", "")  # override for a test double; empty = api.twilio.com

CLICKATELL_API_ID = env("CLICKATELL_API_ID")
CLICKATELL_USER = env("CLICKATELL_USER")
CLICKATELL_PASSWORD = env("CLICKATELL_PASSWORD")
CLICKATELL_HTTPS = env_bool("CLICKATELL_HTTPS", True)
CLICKATELL_API_BASE = env("CLICKATELL_API_BASE", "")  # empty = api.clickatell.com
CLICKATELL_WEBHOOK_SECRET = env("CLICKATELL_WEBHOOK_SECRET")

SMSBROADCAST_USERNAME = env("SMSBROADCAST_USERNAME")
SMSBROADCAST_PASSWORD = env("SMSBROADCAST_PASSWORD")
SMSBROADCAST_API_URL = env("SMSBROADCAST_API_URL", "https://api.smsbroadcast.com.au/api-adv.php")
SMSBROADCAST_WEBHOOK_SECRET = env("SMSBROADCAST_WEBHOOK_SECRET")

SMS_GATEWAY_TIMEOUT_SECONDS = env_float("SMS_GATEWAY_TIMEOUT_SECONDS", 15.0)

# --- Sending speed (issue 11: concurrent sending, per-route limits, scale-out) --------------
# Gateway requests one worker keeps in flight per route, unless the route (a gateway-account
# SIM's "requests in flight") says otherwise. Modems always send one text at a time.
SMS_SEND_CONCURRENCY = env_int("SMS_SEND_CONCURRENCY", 16)
# Sending threads (and pooled HTTP connections per gateway) per worker process: the most
# requests one worker has in flight over all routes together.
SMS_SEND_THREADS = env_int("SMS_SEND_THREADS", 64)
# Messages per second (segments per second on Twilio) for routes configured from settings (the
# default backend), shared by every worker on every machine; 0: no limit (the gateway queues).
SMS_SEND_RATE_PER_SECOND = env_float("SMS_SEND_RATE_PER_SECOND", 0.0)
# Where the shared limiter keeps its state: "auto" (Redis when the cache is Redis, else the
# database), "redis" or "database".
SMS_RATE_LIMIT_STORE = env("SMS_RATE_LIMIT_STORE", "auto")
# With a broker: one burst of queueing is spread over this many dispatch_due tasks (one per
# worker you run); each sends batch after batch until nothing is due.
SMS_DISPATCH_WORKERS = env_int("SMS_DISPATCH_WORKERS", 4)
# false: the dispatcher's commits (outcomes + request marks) do not wait for PostgreSQL's disk
# flush (~1.5x faster at 20 ms on a busy server). A killed worker loses nothing either way; a
# crash of PostgreSQL itself in that fraction of a second could lose marks, and recovery would
# then queue those texts again (a possible duplicate). Default true: never.
SMS_SEND_SYNCHRONOUS_COMMIT = env_bool("SMS_SEND_SYNCHRONOUS_COMMIT", True)

# --- Provider backends: SNS, Vonage, Plivo, Clickatell Platform, ATS, SMS Operator (issue 14) ---
SMS_BACKENDS.update(
    {
        "sns": "sms.backends.sns.SNSBackend",
        "vonage": "sms.backends.vonage.VonageBackend",
        "plivo": "sms.backends.plivo.PlivoBackend",
        "clickatell_platform": "sms.backends.clickatell_platform.ClickatellPlatformBackend",
        "ats": "sms.backends.ats.ATSBackend",
        "smsoperator": "sms.backends.smsoperator.SMSOperatorBackend",
    }
)
# Parts of a long text a gateway delivers piece by piece wait this long for their siblings.
SMS_INBOUND_PART_MAX_AGE_HOURS = env_int("SMS_INBOUND_PART_MAX_AGE_HOURS", 24)
# Prefix of our reference at gateways that take our id ("uniq"; pymess's UNIQ_PREFIX), so two
# installations sharing one account never mix their texts up.
SMS_UNIQ_PREFIX = env("SMS_UNIQ_PREFIX", "texting")

# Amazon SNS. Credentials: SNS_ACCESS_KEY_ID / SNS_SECRET_ACCESS_KEY, else boto3's own chain
# (AWS_* variables, an instance role). SNS_ENDPOINT_URL: tests only (moto's server).
SNS_REGION = env("SNS_REGION", "eu-west-1")
SNS_ACCESS_KEY_ID = env("SNS_ACCESS_KEY_ID")
SNS_SECRET_ACCESS_KEY = env("SNS_SECRET_ACCESS_KEY")
SNS_ENDPOINT_URL = env("SNS_ENDPOINT_URL")
# Transactional or Promotional; texts whose tag is in SNS_PROMOTIONAL_TAGS go Promotional.
SNS_SMS_TYPE = env_choice("SNS_SMS_TYPE", "Transactional", {"Transactional", "Promotional"})
SNS_PROMOTIONAL_TAGS = env_list("SNS_PROMOTIONAL_TAGS", "campaign")
SNS_SENDER_ID = env("SNS_SENDER_ID")
SNS_ORIGINATION_NUMBER = env("SNS_ORIGINATION_NUMBER")
SNS_MAX_PRICE = env("SNS_MAX_PRICE")  # USD per text, e.g. 0.50; empty: no cap
# Topics whose notifications are accepted as inbound texts (comma-separated ARNs): the webhook
# is live once this is set. Signing certificates must come from a URL matching the pattern.
SNS_INBOUND_TOPIC_ARNS = env_list("SNS_INBOUND_TOPIC_ARNS")
SNS_CERT_URL_PATTERN = env("SNS_CERT_URL_PATTERN", r"^https://sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/")

VONAGE_API_KEY = env("VONAGE_API_KEY")
VONAGE_API_SECRET = env("VONAGE_API_SECRET")
VONAGE_FROM_NUMBER = env("VONAGE_FROM_NUMBER")
# Signed webhooks: the signature secret and method set in the Vonage dashboard. Without a
# signature secret, webhooks need VONAGE_WEBHOOK_SECRET (?secret=...).
VONAGE_SIGNATURE_SECRET = env("VONAGE_SIGNATURE_SECRET")
VONAGE_SIGNATURE_METHOD = env_choice(
    "VONAGE_SIGNATURE_METHOD", "md5hash", {"md5hash", "md5", "sha1", "sha256", "sha512"}
)
VONAGE_WEBHOOK_SECRET = env("VONAGE_WEBHOOK_SECRET")
VONAGE_API_BASE = env("VONAGE_API_BASE")  # tests only; empty = rest.nexmo.com

PLIVO_AUTH_ID = env("PLIVO_AUTH_ID")
PLIVO_AUTH_TOKEN = env("PLIVO_AUTH_TOKEN")  # also checks X-Plivo-Signature-V3 on webhooks
PLIVO_FROM_NUMBER = env("PLIVO_FROM_NUMBER")
PLIVO_POWERPACK_UUID = env("PLIVO_POWERPACK_UUID")
PLIVO_API_BASE = env("PLIVO_API_BASE")  # tests only; empty = api.plivo.com

CLICKATELL_PLATFORM_API_KEY = env("CLICKATELL_PLATFORM_API_KEY")
CLICKATELL_PLATFORM_FROM_NUMBER = env("CLICKATELL_PLATFORM_FROM_NUMBER")
CLICKATELL_PLATFORM_WEBHOOK_SECRET = env("CLICKATELL_PLATFORM_WEBHOOK_SECRET")
CLICKATELL_PLATFORM_API_BASE = env("CLICKATELL_PLATFORM_API_BASE")  # tests only

ATS_USERNAME = env("ATS_USERNAME")
ATS_PASSWORD = env("ATS_PASSWORD")
ATS_URL = env("ATS_URL", "https://fik.atspraha.cz/gwfcgi/XMLServerWrapper.fcgi")
ATS_SENDER = env("ATS_SENDER")  # the sender number ATS assigned to the account
ATS_PROJECT_KEYWORD = env("ATS_PROJECT_KEYWORD")
ATS_TEXTID = env("ATS_TEXTID")
ATS_VALIDITY_MINUTES = env_int("ATS_VALIDITY_MINUTES", 60)

SMSOPERATOR_USERNAME = env("SMSOPERATOR_USERNAME")
SMSOPERATOR_PASSWORD = env("SMSOPERATOR_PASSWORD")
SMSOPERATOR_URL = env("SMSOPERATOR_URL", "https://www.sms-operator.cz/webservices/webservice.aspx")

# --- Per-recipient links (links app) -------------------------------------------------------

# What sms.queueing calls to turn {link} into each recipient's SMS_PUBLIC_URL/l/<token> when a
# text is queued (empty: texts holding {link} are refused). Links need SMS_PUBLIC_URL.
SMS_LINK_HOOK = env("SMS_LINK_HOOK", "links.hook.link_hook")
# Days a link keeps working after its text was queued (0: forever).
LINKS_EXPIRE_AFTER_DAYS = env_int("LINKS_EXPIRE_AFTER_DAYS", 90)
# More user-agent substrings to count as link-preview bots, comma-separated (the common
# fetchers - WhatsApp, facebookexternalhit, Twitterbot, Slackbot... - are known already).
LINKS_BOT_USER_AGENTS = env_list("LINKS_BOT_USER_AGENTS", "")

# --- Campaigns (campaigns app) -----------------------------------------------------------

# The data source pull_campaign reads ({"Group A": [["07450000000", "Monica"], ...]}) and
# POSTs outcomes back to. Empty: pulling is off (uploads and pasted lists still work).
TEXTING_API_URL = env("TEXTING_API_URL", "")
TEXTING_API_KEY = env("TEXTING_API_KEY", "")
# "header" (default: sent in TEXTING_API_KEY_HEADER) or "query" (?key=..., older sources).
TEXTING_API_KEY_IN = env_choice("TEXTING_API_KEY_IN", "header", {"header", "query"})
TEXTING_API_KEY_HEADER = env("TEXTING_API_KEY_HEADER", "X-Api-Key")
TEXTING_API_TIMEOUT_SECONDS = env_float("TEXTING_API_TIMEOUT_SECONDS", 30.0)
TEXTING_API_RETRIES = env_int("TEXTING_API_RETRIES", 3)
# How the "group has left" notification is POSTed: "json" (a JSON body that also carries
# "numbers") or "form" (form fields numbers="a, b", group, and payload=<the JSON document>).
TEXTING_API_NOTIFY_FORMAT = env_choice("TEXTING_API_NOTIFY_FORMAT", "json", {"json", "form"})
# Pulls within one period share a campaign (strftime of the site's local date): a second pull
# in the period texts nobody who was already texted.
CAMPAIGNS_PULL_PERIOD_FORMAT = env("CAMPAIGNS_PULL_PERIOD_FORMAT", "%Y-%m-%d")
CAMPAIGNS_PULL_LOCK_TIMEOUT_SECONDS = env_int("CAMPAIGNS_PULL_LOCK_TIMEOUT_SECONDS", 1800)
CAMPAIGNS_BATCH_SIZE = env_int("CAMPAIGNS_BATCH_SIZE", 2000)
# Allowed sending window in the recipient's local time, and per-country overrides
# ("DE=09:00-20:00,FR=10:00-19:00"). Texts due outside it wait; they are never dropped.
CAMPAIGNS_SENDING_HOURS = env("CAMPAIGNS_SENDING_HOURS", "08:00-21:00")
CAMPAIGNS_SENDING_HOURS_BY_REGION = env("CAMPAIGNS_SENDING_HOURS_BY_REGION", "")
# Per-contact cap on marketing texts (campaign texts and follow-ups); 0 = no cap.
CAMPAIGNS_MAX_PER_DAY = env_int("CAMPAIGNS_MAX_PER_DAY", 2)
CAMPAIGNS_MAX_PER_WEEK = env_int("CAMPAIGNS_MAX_PER_WEEK", 5)
# A campaign pauses itself when this share of its texts failed within the window.
CAMPAIGNS_ERROR_RATE_THRESHOLD = env_float("CAMPAIGNS_ERROR_RATE_THRESHOLD", 0.5)
CAMPAIGNS_ERROR_RATE_WINDOW_MINUTES = env_int("CAMPAIGNS_ERROR_RATE_WINDOW_MINUTES", 10)
CAMPAIGNS_ERROR_RATE_MIN_MESSAGES = env_int("CAMPAIGNS_ERROR_RATE_MIN_MESSAGES", 20)
CAMPAIGNS_SENDER_ID = env("CAMPAIGNS_SENDER_ID", "")
CAMPAIGNS_OPT_OUT_FOOTER = env("CAMPAIGNS_OPT_OUT_FOOTER", "Reply STOP to opt out")
# Reply types (slugs) after which a follow-up is allowed, used only while the replies app's
# ReplyType has no allows_followup field. No reply always allows one; an opt-out never does.
CAMPAIGNS_FOLLOWUP_REPLY_TYPES = env_list("CAMPAIGNS_FOLLOWUP_REPLY_TYPES", "thanks,misc")
# The router campaigns.routing.campaign_router (the default SMS_ROUTER) hands the texts it
# does not hold to: sms.routing.default_router, or the modems app's SIM router.
CAMPAIGNS_INNER_ROUTER = env("CAMPAIGNS_INNER_ROUTER", "modems.routing.sim_router")
# Optional dotted path f(template, recipient, context) -> bool overriding Template.can_send.
CAMPAIGNS_TEMPLATE_CAN_SEND = env("CAMPAIGNS_TEMPLATE_CAN_SEND", "")
# Longest name the template preview assumes when warning about an extra segment.
CAMPAIGNS_PREVIEW_NAME_LENGTH = env_int("CAMPAIGNS_PREVIEW_NAME_LENGTH", 20)
# False: the "pull now" button runs the pull inline (tests, single-threaded servers).
CAMPAIGNS_PULL_IN_BACKGROUND = env_bool("CAMPAIGNS_PULL_IN_BACKGROUND", True)

# --- Replies (replies app) ---------------------------------------------------------------

# Texts that opt out / back in when they are the whole text (any case, punctuation ignored).
REPLIES_OPT_OUT_KEYWORDS = env_list(
    "REPLIES_OPT_OUT_KEYWORDS", "STOP,STOPALL,UNSUBSCRIBE,CANCEL,END,QUIT,OPTOUT,REVOKE"
)
REPLIES_OPT_IN_KEYWORDS = env_list("REPLIES_OPT_IN_KEYWORDS", "START,UNSTOP")
REPLIES_HELP_KEYWORDS = env_list("REPLIES_HELP_KEYWORDS", "HELP,INFO")
# Answer to HELP (empty: no answer).
REPLIES_HELP_TEXT = env("REPLIES_HELP_TEXT", "Texting help: reply STOP to stop receiving texts from us.")
# The one confirmation sent after an opt-out (empty: none). No marketing here.
REPLIES_OPT_OUT_CONFIRMATION = env(
    "REPLIES_OPT_OUT_CONFIRMATION",
    "You have been unsubscribed and will get no more texts from us. Reply START to rejoin.",
)
REPLIES_OPT_IN_CONFIRMATION = env("REPLIES_OPT_IN_CONFIRMATION", "You are subscribed again. Reply STOP to opt out.")
# Below this probability a prediction is only a suggestion and the text waits for review.
REPLIES_CONFIDENCE_THRESHOLD = env_float("REPLIES_CONFIDENCE_THRESHOLD", 0.8, minimum=0, maximum=1)
# "End" predictions opt the contact out, so they get their own (higher) bar.
REPLIES_OPT_OUT_CONFIDENCE_THRESHOLD = env_float("REPLIES_OPT_OUT_CONFIDENCE_THRESHOLD", 0.9, minimum=0, maximum=1)
# Cold start: a reply type needs this many labels to be learnt; with fewer than two such types
# the classifier abstains.
REPLIES_MIN_LABELS_PER_TYPE = env_int("REPLIES_MIN_LABELS_PER_TYPE", 10)
# Retrain in the background after this many new staff labels (0: only by command / button).
REPLIES_RETRAIN_AFTER_LABELS = env_int("REPLIES_RETRAIN_AFTER_LABELS", 50)
# At most this many auto-replies to one number in 24 hours (stops loops with other robots).
REPLIES_AUTO_REPLY_DAILY_LIMIT = env_int("REPLIES_AUTO_REPLY_DAILY_LIMIT", 3)
# Staff categorising an older text does not auto-reply to it.
REPLIES_AUTO_REPLY_MAX_AGE_HOURS = env_int("REPLIES_AUTO_REPLY_MAX_AGE_HOURS", 24)

# --- Keywords: numbers, keywords, handlers, brokers (keywords app) ---------------------------

# Seconds a keyword handler may run inside the webhook's request before it is interrupted,
# rolled back and the gateway asked to retry (keep it well under the gateways' time-outs:
# Twilio waits 15 s).
KEYWORDS_HANDLER_TIMEOUT_SECONDS = env_float("KEYWORDS_HANDLER_TIMEOUT_SECONDS", 5.0, minimum=0, maximum=60)
# A handler that has not succeeded after this many attempts, or this many hours after the
# text arrived, gives up: the text goes to the inbox marked "keyword failed".
KEYWORDS_HANDLER_MAX_ATTEMPTS = env_int("KEYWORDS_HANDLER_MAX_ATTEMPTS", 5)
KEYWORDS_HANDLER_GIVE_UP_HOURS = env_float("KEYWORDS_HANDLER_GIVE_UP_HOURS", 24.0, minimum=0)
# Each process keeps the keywords in memory; a save elsewhere reaches it at once through a
# shared cache (CACHE_URL / Redis), else within this many seconds.
KEYWORDS_CACHE_SECONDS = env_float("KEYWORDS_CACHE_SECONDS", 30.0, minimum=0)
# --- First-week fixes (issue 13) ------------------------------------------------------------

# A staff "End" label opts the contact out only after this many seconds, shown with an Undo
# (0: at once). Texts to the number are held meanwhile. A customer's STOP is always immediate.
REPLIES_OPT_OUT_GRACE_SECONDS = env_int("REPLIES_OPT_OUT_GRACE_SECONDS", 120)
# Share of each SIM's daily allowance campaign texts may not use: kept for one-to-one and
# transactional texts (Compose, replies, auto-replies, API sends), which are also claimed first.
MODEMS_RESERVED_SHARE = env_float("MODEMS_RESERVED_SHARE", 0.1, minimum=0, maximum=1)

# --- Modems, SIM cards and networks (modems app) -------------------------------------------

# CAMPAIGNS_INNER_ROUTER (above) defaults to modems.routing.sim_router: an active SIM within
# its daily limit for each text; with no SIM configured it hands over to sms.routing.default_router.
SMS_BACKENDS["modem"] = "modems.backend.ModemBackend"
# Gateway-account SIMs name the environment variables holding their credentials; only names
# with this prefix are accepted (so SECRET_KEY or DATABASE_URL can never be sent anywhere).
MODEMS_CREDENTIALS_ENV_PREFIX = env("MODEMS_CREDENTIALS_ENV_PREFIX", "SIM_")
MODEMS_BAUDRATE = env_int("MODEMS_BAUDRATE", 115200)
# Seconds to wait for an ordinary AT answer, and for the network to accept a text (+CMGS).
MODEMS_COMMAND_TIMEOUT = env_float("MODEMS_COMMAND_TIMEOUT", 10.0)
MODEMS_SEND_TIMEOUT = env_float("MODEMS_SEND_TIMEOUT", 60.0)
# Texts one dispatcher batch gives one modem (a modem sends one every few seconds; keep
# this × ~5 s well under SMS_SENDING_TIMEOUT_SECONDS). The rest go with the next batch.
MODEMS_MAX_TEXTS_PER_BATCH = env_int("MODEMS_MAX_TEXTS_PER_BATCH", 60)
# Parts of a long incoming text wait this long for their siblings, then the text is stored
# with a marker where parts are missing (nothing is dropped).
MODEMS_PART_MAX_AGE_HOURS = env_int("MODEMS_PART_MAX_AGE_HOURS", 24)

# A modem that did not answer is passed over for this long while other SIMs can send.
MODEMS_UNREACHABLE_SECONDS = env_int("MODEMS_UNREACHABLE_SECONDS", 300)

# --- SMPP routes, the generic HTTP connector, failover and route health (issue 15) --------

SMS_BACKENDS["smpp"] = "sms.backends.smpp.SmppBackend"
SMS_BACKENDS["http_connector"] = "modems.connector.HttpConnectorBackend"
# Secret for the HTTP connector's delivery-report webhook (/sms/status/http_connector/).
SMS_CONNECTOR_WEBHOOK_SECRET = env("SMS_CONNECTOR_WEBHOOK_SECRET", "")
# An SMPP worker confirms its bind every SMPP_ENQUIRE_LINK_SECONDS; a route whose bind was
# last confirmed longer than SMPP_LINK_STALE_SECONDS ago is treated as down.
SMPP_ENQUIRE_LINK_SECONDS = env_float("SMPP_ENQUIRE_LINK_SECONDS", 20.0)
SMPP_LINK_STALE_SECONDS = env_int("SMPP_LINK_STALE_SECONDS", 60)
# Reconnect backoff: 1 s, 2 s, 4 s... up to this.
SMPP_RECONNECT_MAX_SECONDS = env_float("SMPP_RECONNECT_MAX_SECONDS", 60.0)
# Outstanding submit_sm per route when the route's options do not say ("window").
SMPP_DEFAULT_WINDOW = env_int("SMPP_DEFAULT_WINDOW", 10)
# Seconds to wait for a submit_sm_resp before the connection is given up (the texts in
# flight become UNKNOWN: they may have left).
SMPP_RESPONSE_TIMEOUT = env_float("SMPP_RESPONSE_TIMEOUT", 30.0)
# A text handed to an SMPP route goes back to the dispatcher if no worker took it by then.
SMPP_HANDOVER_SECONDS = env_int("SMPP_HANDOVER_SECONDS", 300)
# A route failing with non-permanent errors (or its SMPP bind down) for this long is marked
# unhealthy and its waiting texts move to the next healthy route; it is probed again every
# ROUTES_PROBE_SECONDS with one text, and restored when that goes.
ROUTES_FAILOVER_AFTER_SECONDS = env_int("ROUTES_FAILOVER_AFTER_SECONDS", 120)
ROUTES_PROBE_SECONDS = env_int("ROUTES_PROBE_SECONDS", 60)

# --- Background work ---------------------------------------------------------------------

# Empty: work runs inline or from cron. redis://127.0.0.1:6379/0 or amqp://guest@127.0.0.1//
# hands it to Celery workers (see texting/celery.py).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Queue the tasks go to (and workers read by default); separate deployments sharing a broker
# need different names.
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", "texting")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The beat schedule's crontab times (crontab.txt's) are in the site's zone.
CELERY_TIMEZONE = TIME_ZONE
# Shared cache for short locks (one dispatch_due waiting per burst of queueing): CACHE_URL
# (redis://...), else the Redis broker, else per-process memory.
CACHE_URL = env("CACHE_URL", CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else "")
CACHES = {
    "default": (
        # Deployments sharing a broker have their own queue names, and so their own locks.
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": CELERY_TASK_DEFAULT_QUEUE,
        }
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
# Queueing asks for at most one dispatch_due per this many seconds while one waits unstarted.
SMS_DISPATCH_KICK_SECONDS = env_int("SMS_DISPATCH_KICK_SECONDS", 10)
