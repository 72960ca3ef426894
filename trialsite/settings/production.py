"""Production: DEBUG off, HTTPS only, secrets from the environment (never defaults)."""

from django.core.exceptions import ImproperlyConfigured

from trialsite.security import axes_client_ip_settings
from trialsite.settings.base import *  # noqa: F403
from trialsite.settings.base import SIGNATURE_KEY, SIGNATURE_KEY_ID, SIGNATURE_OLD_KEYS, env

DEBUG = env.bool("DEBUG", default=False)

# The e-signature key (base.py): required, long enough not to be guessed, and named (the id
# is stored beside every hash; an empty id is reserved for signatures made before keys).
if len(SIGNATURE_KEY) < 32 or not SIGNATURE_KEY_ID or SIGNATURE_KEY_ID in SIGNATURE_OLD_KEYS:
    raise ImproperlyConfigured(
        "SIGNATURE_KEY must hold at least 32 characters and SIGNATURE_KEY_ID a name "
        "not used by SIGNATURE_OLD_KEYS."
    )

# collectstatic writes hashed, compressed files that WhiteNoise serves with long caching.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = True
LANGUAGE_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"

# django-axes counts failed logins per username and client address. Behind reverse
# proxies (README: gunicorn behind nginx) the connection comes from the proxy: say how
# many proxies there are and which header they append the client's address to.
# Default 0: no proxy, the connection's address is the client, headers are ignored.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
CLIENT_IP_HEADER = env.str("CLIENT_IP_HEADER", default="X-Forwarded-For")
_client_ip = axes_client_ip_settings(trusted_proxies=TRUSTED_PROXY_COUNT, header=CLIENT_IP_HEADER)
AXES_IPWARE_PROXY_COUNT = _client_ip["AXES_IPWARE_PROXY_COUNT"]
AXES_IPWARE_PROXY_ORDER = _client_ip["AXES_IPWARE_PROXY_ORDER"]
AXES_IPWARE_META_PRECEDENCE_ORDER = _client_ip["AXES_IPWARE_META_PRECEDENCE_ORDER"]
IPWARE_STRICT = _client_ip["IPWARE_STRICT"]
