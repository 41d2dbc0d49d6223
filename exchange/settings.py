"""Settings for every environment, read from environment variables (see .env.example).

Production differs from development only by its environment: DJANGO_DEBUG=false, a real
DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS, DATABASE_URL and REDIS_URL.
"""
import os
from pathlib import Path

import environ
from celery.schedules import crontab

from exchange.infra.net import parse_networks
from exchange.infra.safety import DEV_SECRET_KEY, refuse_unsafe_production

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# Development and tests get a fixed, obviously-unsafe key; production must set its own (the
# startup refusal at the end of this file enforces it).
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or (DEV_SECRET_KEY if DEBUG else "")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
# Reverse proxies (addresses or CIDRs) whose X-Forwarded-For is believed; empty: trust nobody.
# exchange/infra/net.py reads the client's address from it, for every part of the venue.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
parse_networks(TRUSTED_PROXIES)  # a typo is an error at startup, not every client behind one address
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# Demo mode: the faucet and demo liquidity are on. Never on a venue with real money.
EXCHANGE_DEMO_MODE = env.bool("EXCHANGE_DEMO_MODE", default=False)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "channels",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",  # one-time recovery codes
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "exchange.apps.CoreConfig",
    "exchange.accounts",
    "exchange.markets",
    "exchange.ledger",
    "exchange.trading",
    "exchange.marketdata",
    "exchange.audit",
    "exchange.console",
    "exchange.chain",
    "exchange.withdrawals",
    "exchange.api",
    "surveillance",
    "exchange.web",
]

MIDDLEWARE = [
    # First: probes get their answer before host checks, redirects, sessions and rate limits.
    "exchange.infra.health.HealthCheckMiddleware",
    # A request that failed for want of the database gets 503 + Retry-After, not a 500.
    "exchange.infra.shedding.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files (hashed, compressed, cached for a year) before anything touches the session.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "exchange.api.throttling.IpRateLimitMiddleware",
    # NUL bytes, non-UTF-8 queries, oversized API bodies: a 4xx before anything reads them; and
    # every error under /api/ in the API's JSON shape (exchange/api/hygiene.py).
    "exchange.api.hygiene.InputHygieneMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Sessions of users with two-factor on must have passed it; staff need it for the console,
    # surveillance and the Django admin.
    "exchange.accounts.middleware.SecondFactorMiddleware",
    "csp.middleware.CSPMiddleware",
    "exchange.audit.context.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a lockout into a clear "locked" response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "exchange.urls"
WSGI_APPLICATION = None
ASGI_APPLICATION = "exchange.asgi.application"

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
                "exchange.accounts.context_processors.exchange_flags",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/exchange"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Web processes (exchange/asgi.py turns DATABASE_POOL on) borrow connections from one pool per
# process with a hard cap: Daphne runs every request's sync code on a thread of its own, and a
# persistent connection per thread ran PostgreSQL out of connections. A request that finds the
# pool empty waits up to DATABASE_POOL_TIMEOUT seconds, then gets a 503 (exchange/infra/shedding.py).
# Long-running workers (matcher, surveillance, Celery) keep their own few dedicated connections:
# the matcher's session holds its advisory locks, which must never go back into a pool.
# The default cap shares about 60 connections among WEB_CONCURRENCY web processes (.env.example).
DATABASE_POOL = env.bool("DATABASE_POOL", default=False)
WEB_CONCURRENCY = env.int("WEB_CONCURRENCY", default=os.cpu_count() or 1)
DATABASE_POOL_MAX_SIZE = env.int("DATABASE_POOL_MAX_SIZE", default=max(2, min(10, 60 // max(1, WEB_CONCURRENCY))))
DATABASE_POOL_MIN_SIZE = env.int("DATABASE_POOL_MIN_SIZE", default=min(2, DATABASE_POOL_MAX_SIZE))
DATABASE_POOL_TIMEOUT = env.float("DATABASE_POOL_TIMEOUT", default=3.0)
if DATABASE_POOL:
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django returns the connection to the pool after each request
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": DATABASE_POOL_MIN_SIZE, "max_size": DATABASE_POOL_MAX_SIZE, "timeout": DATABASE_POOL_TIMEOUT,
        "name": "web",
    }
# Statements run through exchange/infra/prepared.py (order entry's group commit) are prepared
# after this many runs on a connection; Django's own cursors bind on the client and never prepare.
# Empty: never (behind a pooler that cannot keep prepared statements).
_prepare_threshold = env.str("DATABASE_PREPARE_THRESHOLD", default="5")
DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = (
    int(_prepare_threshold) if _prepare_threshold.strip() else None)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")

# WebSockets get their messages from the process's market-data hub (exchange/marketdata/hub.py), one
# Redis subscription per web process; no Channels layer: nothing sends through one.
CHANNEL_LAYERS: dict = {}
# (market, channel) pairs one /ws/stream/ socket may follow at once (exchange/marketdata/subscriptions.py).
EXCHANGE_WS_MAX_SUBSCRIPTIONS = env.int("EXCHANGE_WS_MAX_SUBSCRIPTIONS", default=200)

# Blockchain (exchange/chain; README "Deposits and withdrawals on chain"). Mainnet or a testnet is
# configuration only: the node, its chain id, the token's contract and the deposit xpub.
ETH_RPC_URL = env.str("ETH_RPC_URL", default="http://127.0.0.1:8545")
ETH_CHAIN_ID = env.int("ETH_CHAIN_ID", default=31337)
# Watch-only account key (BIP-44 m/44'/60'/0') from which deposit addresses derive (…/0/index). The
# development default is the public test mnemonic "abandon ... about": never for real money, so
# production has none unless set.
DEV_DEPOSIT_XPUB = ("xpub6DCoCpSuQZB2jawqnGMEPS63ePKWkwWPH4TU45Q7LPXWuNd8TMtVxRrgjtEshuqpK3mdhaWHPFsB"
                    "ngh5GFZaM6si3yZdUsT8ddYM3PwnATt")
ETH_DEPOSIT_XPUB = env.str("ETH_DEPOSIT_XPUB", default=DEV_DEPOSIT_XPUB if DEBUG else "")
# Blocks on top of a deposit's before it is credited (ETH and the token alike).
ETH_CONFIRMATIONS = env.int("ETH_CONFIRMATIONS", default=3)
# The token (USDT) contract on a real network; empty: `manage.py setup_dev_chain` deploys a dev token.
ETH_USDT_CONTRACT = env.str("ETH_USDT_CONTRACT", default="")
# The first block a fresh watcher scans (on a testnet: a recent height, not the genesis).
CHAIN_WATCHER_START_HEIGHT = env.int("CHAIN_WATCHER_START_HEIGHT", default=0)
CHAIN_WATCHER_POLL_SECONDS = env.float("CHAIN_WATCHER_POLL_SECONDS", default=1.0)
# Blocks scanned per step (one eth_getLogs range and one transaction).
CHAIN_WATCHER_BATCH_BLOCKS = env.int("CHAIN_WATCHER_BATCH_BLOCKS", default=50)

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE: dict = {
    "daily-close": {
        "task": "exchange.trading.tasks.markets_mark_daily_close",
        "schedule": crontab(hour=0, minute=0),
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "exchange.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_THROTTLE_CLASSES": [
        "exchange.api.throttling.AccountRateThrottle",
        "exchange.api.throttling.OrderRateThrottle",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's, with the plain JSON case answered at once (exchange/api/negotiation.py).
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "exchange.api.negotiation.JsonNegotiation",
    # Depth-limited, no NaN/Infinity, no NUL, decimals as Decimal (exchange/api/parsers.py).
    "DEFAULT_PARSER_CLASSES": ["exchange.api.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "exchange.api.errors.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Exchange API",
    "DESCRIPTION": "Spot exchange REST API. Decimals are strings; errors are {\"error\": {\"code\", \"message\"}}.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the vendored sidecar package: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# API keys: the receive window for signed requests, and rate limits as (requests, seconds).
EXCHANGE_API_RECV_WINDOW_MS = env.int("EXCHANGE_API_RECV_WINDOW_MS", default=5000)
# An API key, its scopes and its owner's status are cached this long in each process: a key
# revoked (or a user frozen) in the console stops working within this many seconds everywhere.
EXCHANGE_API_KEY_CACHE_SECONDS = env.float("EXCHANGE_API_KEY_CACHE_SECONDS", default=1.0)
# Input limits: an /api/ body above this is a 413 before it is read; JSON nested deeper is a 400.
EXCHANGE_API_MAX_BODY_BYTES = env.int("EXCHANGE_API_MAX_BODY_BYTES", default=256 * 1024)
EXCHANGE_API_MAX_JSON_DEPTH = env.int("EXCHANGE_API_MAX_JSON_DEPTH", default=32)
# Django's own limits for form posts on the pages (a larger body is a 400).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DJANGO_DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
DATA_UPLOAD_MAX_NUMBER_FIELDS = env.int("DJANGO_DATA_UPLOAD_MAX_NUMBER_FIELDS", default=1000)
EXCHANGE_RATE_LIMITS = {
    "ip": (env.int("EXCHANGE_RATE_LIMIT_IP_PER_MIN", default=1200), env.int("EXCHANGE_RATE_LIMIT_WINDOW_S", default=60)),
    "account": (env.int("EXCHANGE_RATE_LIMIT_ACCOUNT_PER_MIN", default=600), env.int("EXCHANGE_RATE_LIMIT_WINDOW_S", default=60)),
    "orders": (env.int("EXCHANGE_RATE_LIMIT_ORDERS", default=20), env.int("EXCHANGE_RATE_LIMIT_ORDERS_WINDOW_S", default=1)),
}
EXCHANGE_MAX_OPEN_ORDERS = env.int("EXCHANGE_MAX_OPEN_ORDERS", default=200)
# The front door (exchange/infra/shedding.py): requests in flight per web process. Order entry
# (POST/DELETE under /api/v1/orders) has its own budget; every other HTTP request shares another,
# so market data and the console stay responsive while order entry sheds. A request waits at most
# EXCHANGE_SHED_QUEUE_MS for a place, then gets 503 with Retry-After (seconds) and the error body.
# WebSockets are not counted. Signed orders hold no database connection while they wait for their
# group commit (only the committer's), so the order budget is not tied to the pool: the more
# orders a process admits at once, the larger its groups and the less each costs (32 took one
# box from 150 to 190 accepted orders/s at 200 offered, and to 250 at 300).
EXCHANGE_MAX_INFLIGHT_ORDERS = env.int("EXCHANGE_MAX_INFLIGHT_ORDERS", default=32)
EXCHANGE_MAX_INFLIGHT_REQUESTS = env.int("EXCHANGE_MAX_INFLIGHT_REQUESTS", default=64)
EXCHANGE_SHED_QUEUE_MS = env.int("EXCHANGE_SHED_QUEUE_MS", default=20)
EXCHANGE_SHED_RETRY_AFTER = env.int("EXCHANGE_SHED_RETRY_AFTER", default=1)
# Order entry commits in groups (exchange/trading/committer.py); a request waits at most this
# many seconds for its group, then gets 503 (retry with the same client_order_id).
EXCHANGE_GROUP_COMMIT_TIMEOUT = env.float("EXCHANGE_GROUP_COMMIT_TIMEOUT", default=5.0)
# Threads per web process that run Django's request handling (a2wsgi's pool, exchange/asgi.py):
# one per pooled database connection, so a running request never waits for a connection.
EXCHANGE_WEB_THREADS = env.int("EXCHANGE_WEB_THREADS", default=DATABASE_POOL_MAX_SIZE)
# At most this many orders (or ids) in one POST/DELETE /api/v1/orders/batch.
EXCHANGE_MAX_BATCH_ORDERS = env.int("EXCHANGE_MAX_BATCH_ORDERS", default=20)
EXCHANGE_FAUCET_LIMITS = {"USD": "10000", "BTC": "1", "ETH": "10"}

# Console: every manual credit needs a second admin; a withdrawal above its asset's threshold (in
# that asset's units) does too. An asset without an entry uses EXCHANGE_FOUR_EYES_THRESHOLD, by
# default 0: every withdrawal of it needs a second admin.
EXCHANGE_FOUR_EYES_THRESHOLD = env.str("EXCHANGE_FOUR_EYES_THRESHOLD", default="0")
EXCHANGE_FOUR_EYES_THRESHOLDS = env.dict("EXCHANGE_FOUR_EYES_THRESHOLDS", default={})  # e.g. BTC=1,ETH=20,USD=10000
# KYC tiers (exchange/ledger/limits.py): limits in EXCHANGE_KYC_QUOTE, overriding the defaults there
# per tier and field, e.g. {"1": {"withdraw_request": "500"}}. Assets are valued at the higher of
# the last ASSET-QUOTE trade and EXCHANGE_REFERENCE_PRICES (e.g. BTC=60000,ETH=3000).
EXCHANGE_KYC_QUOTE = env.str("EXCHANGE_KYC_QUOTE", default="USD")
EXCHANGE_KYC_LIMITS = env.json("EXCHANGE_KYC_LIMITS", default={})
EXCHANGE_REFERENCE_PRICES = env.dict("EXCHANGE_REFERENCE_PRICES", default={})
# Engine health turns red past these; /metrics asks for this bearer token when it is set.
EXCHANGE_MATCHER_HEARTBEAT_MAX_AGE = env.float("EXCHANGE_MATCHER_HEARTBEAT_MAX_AGE", default=15.0)
EXCHANGE_MATCHER_LAG_MAX_SECONDS = env.float("EXCHANGE_MATCHER_LAG_MAX_SECONDS", default=10.0)
# Where the matcher hands each committed batch (exchange/trading/matcher/sink.py): market data's
# candles and publishing; exchange.trading.matcher.sink.NullSink for none.
EXCHANGE_MATCHER_SINK = env.str("EXCHANGE_MATCHER_SINK", default="exchange.marketdata.sink.MarketDataSink")
EXCHANGE_METRICS_TOKEN = env.str("EXCHANGE_METRICS_TOKEN", default="")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses locked-out username/IP pairs first
    "exchange.accounts.backends.ActiveProfileBackend",
]
# Lockout after repeated failed logins (django-axes): per username and IP, for a cool-off period.
AXES_FAILURE_LIMIT = env.int("EXCHANGE_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("EXCHANGE_LOGIN_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked.html"
OTP_TOTP_ISSUER = "Exchange"
AXES_CLIENT_IP_CALLABLE = "exchange.infra.net.client_ip"  # the one reading of the client's address
# Usernames cut to the user model's length before axes stores them (exchange/accounts/axes_username.py).
AXES_USERNAME_CALLABLE = "exchange.accounts.axes_username.axes_username"
# Past this many failed logins for one username (from any address) within the window, the
# password alone is refused; the owner gets in by giving their two-factor code with it.
EXCHANGE_LOGIN_USER_FAILURE_CEILING = env.int("EXCHANGE_LOGIN_USER_FAILURE_CEILING", default=20)
EXCHANGE_LOGIN_USER_WINDOW_MINUTES = env.int("EXCHANGE_LOGIN_USER_WINDOW_MINUTES", default=15)
# The withdrawal signer (manage.py run_withdrawal_signer). Its key is NOT a setting: the signer
# alone reads EXCHANGE_HOT_WALLET_KEY_FILE / EXCHANGE_HOT_WALLET_KEY (exchange/withdrawals/custody.py).
EXCHANGE_SIGNER_POLL_SECONDS = env.float("EXCHANGE_SIGNER_POLL_SECONDS", default=1.0)
EXCHANGE_SIGNER_BUMP_AFTER_SECONDS = env.float("EXCHANGE_SIGNER_BUMP_AFTER_SECONDS", default=120)
EXCHANGE_SIGNER_BUMP_PERCENT = env.int("EXCHANGE_SIGNER_BUMP_PERCENT", default=25)  # nodes want >= 10 %
EXCHANGE_SIGNER_MAX_GAS_PRICE_GWEI = env.str("EXCHANGE_SIGNER_MAX_GAS_PRICE_GWEI", default="500")
EXCHANGE_SIGNER_TOKEN_GAS = env.int("EXCHANGE_SIGNER_TOKEN_GAS", default=100_000)
# Development only (DJANGO_DEBUG, chain id 31337): the signer tops its hot wallet up on the local
# anvil (1000 ETH, a million of the dev token) so that `make run`'s withdrawals can be paid.
EXCHANGE_DEV_FUND_HOT_WALLET = env.bool("EXCHANGE_DEV_FUND_HOT_WALLET", default=True)
# How often the signer checks the reserves (0: only `manage.py verify_reserves` does).
EXCHANGE_RESERVES_CHECK_SECONDS = env.float("EXCHANGE_RESERVES_CHECK_SECONDS", default=60)
# The console's chain health: a watcher poll or signer heartbeat older than this is down, and a
# watcher more blocks behind the node than this is lagging.
EXCHANGE_CHAIN_STALE_SECONDS = env.float("EXCHANGE_CHAIN_STALE_SECONDS", default=30)
EXCHANGE_CHAIN_LAG_MAX_BLOCKS = env.int("EXCHANGE_CHAIN_LAG_MAX_BLOCKS", default=20)
# A new address on a user's withdrawal allow-list is usable this long after it was added.
EXCHANGE_ALLOW_LIST_DELAY_HOURS = env.float("EXCHANGE_ALLOW_LIST_DELAY_HOURS", default=24)
# Withdrawals stay locked this long after a security change (two-factor, a key that may withdraw).
EXCHANGE_SECURITY_WITHDRAWAL_LOCK_HOURS = env.float("EXCHANGE_SECURITY_WITHDRAWAL_LOCK_HOURS", default=24)

# Content-Security-Policy: no inline scripts or styles anywhere, no third-party origins.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'", "ws:", "wss:"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "object-src": ["'none'"],
    },
}
# Encrypts API secrets at rest (exchange/accounts/crypto.py). Development derives it from
# SECRET_KEY as before; production must set its own (refused at startup otherwise).
EXCHANGE_API_SECRET_KEY = env.str("EXCHANGE_API_SECRET_KEY", default="") or (SECRET_KEY if DEBUG else "")
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=BASE_DIR / "var" / "staticfiles")
# WhiteNoise serves static files from Daphne. Production: `manage.py collectstatic` first; names
# carry a content hash (ES module imports and CSS url()s rewritten to them), gzip/brotli copies,
# and a year of caching. Development serves the source folders directly, always fresh.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage" if DEBUG
                    else "exchange.infra.static.HashedStaticStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG  # fixed here: pytest turns DEBUG off after import

EMAIL_BACKEND = env.str("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="exchange@localhost")

# Security: strict by default, relaxed only for plain-HTTP development (DEBUG).
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# A form posted without its token gets the site's 403 page (JSON under /api/), not Django's.
CSRF_FAILURE_VIEW = "exchange.web.error_pages.csrf_failure"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Probes speak plain HTTP to the process; the middleware answers them first anyway.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # EXCHANGE_PROCESS is set by the launcher (scripts/launch.py): one log, and who said what.
    "formatters": {"plain": {"format": "%(asctime)s " + env.str("EXCHANGE_PROCESS", default="-")
                                       + " %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
}

# Production refuses to start with development secrets: every process loads this file (Daphne, the
# matcher, Celery, manage.py), so they all refuse, naming each variable to set.
if not DEBUG:
    refuse_unsafe_production(secret_key=SECRET_KEY, api_secret_key=EXCHANGE_API_SECRET_KEY,
                             allowed_hosts=ALLOWED_HOSTS, metrics_token=EXCHANGE_METRICS_TOKEN)
