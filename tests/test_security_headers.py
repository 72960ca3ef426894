"""Headers and sessions: the Content-Security-Policy allows no inline script; production
settings send HSTS, nosniff, a referrer policy and frame denial, keep cookies on HTTPS,
and ``manage.py check --deploy`` finds nothing, not even a warning.

The production settings are loaded in a child process (as a deployment loads them, with
dummy secrets), so the suite's own settings stay untouched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.urls import reverse

pytestmark = pytest.mark.django_db

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "trialsite.settings.production",
    "SECRET_KEY": "dummy-production-secret-for-the-deploy-check-0123456789abcdefABCDEF",
    "SIGNATURE_KEY": "dummy-production-signature-key-for-the-deploy-check-0123456789",
    "ALLOWED_HOSTS": "edc.example.org",
    "DEBUG": "false",
}


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in filter(None, (p.strip() for p in header.split(";"))):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def production(*args: str, script: str | None = None) -> subprocess.CompletedProcess:
    """Run manage.py (or a script) under the production settings, as a deployment would."""
    command = [sys.executable, "-c", script] if script else [sys.executable, "manage.py", *args]
    # The suite's environment minus what only tests set (the browser tests' async switch);
    # the database settings stay, so the child finds the suite's server.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return subprocess.run(
        command,
        cwd=settings.BASE_DIR,
        env={**env, **PRODUCTION_ENV},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("who", ["anonymous", "coordinator"])
def test_pages_carry_a_content_security_policy_without_inline_script(
    who, client, coordinator_pumch
):
    if who == "coordinator":
        client.force_login(coordinator_pumch)
    response = client.get(reverse("login" if who == "anonymous" else "dashboard"))
    assert response.status_code == 200
    policy = csp_directives(response["Content-Security-Policy"])
    script_src = policy.get("script-src", policy["default-src"])
    assert script_src == ["'self'"], script_src
    assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "data:"} & set(script_src)
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
names = [
    "DEBUG", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_CONTENT_TYPE_NOSNIFF", "SECURE_REFERRER_POLICY", "X_FRAME_OPTIONS",
    "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "CSRF_COOKIE_SECURE",
    "LANGUAGE_COOKIE_SECURE", "SECURE_PROXY_SSL_HEADER",
]
client = Client()
https = client.get("/healthz", secure=True, HTTP_HOST="edc.example.org")
plain = client.get("/healthz", HTTP_HOST="edc.example.org")
print(json.dumps({
    "settings": {name: getattr(settings, name) for name in names},
    "https": [https.status_code, dict(https.headers)],
    "plain": [plain.status_code, plain.headers.get("Location", "")],
}))
"""


def test_production_settings_send_hsts_nosniff_referrer_policy_frame_denial_and_secure_cookies(
    figure,
):
    run = production(script=PROBE)
    assert run.returncode == 0, run.stderr[-3000:]
    probe = json.loads(run.stdout.strip().splitlines()[-1])
    values = probe["settings"]
    assert values["DEBUG"] is False
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 365 * 24 * 60 * 60
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert values["SECURE_REFERRER_POLICY"] == "same-origin"
    assert values["X_FRAME_OPTIONS"] == "DENY"
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["LANGUAGE_COOKIE_SECURE"] is True
    # And the headers a request over HTTPS really gets; plain HTTP is redirected to HTTPS.
    status, headers = probe["https"]
    assert status == 200
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "includeSubDomains" in headers["Strict-Transport-Security"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert "'unsafe-inline'" not in csp_directives(headers["Content-Security-Policy"])["script-src"]
    assert probe["plain"] == [301, "https://edc.example.org/healthz"]
    figure(
        "headers and cookies",
        "production settings: HSTS (1 year, subdomains), nosniff, Referrer-Policy same-origin, "
        "X-Frame-Options DENY, a Content-Security-Policy without inline script, on a real "
        "HTTPS response; HTTP redirected to HTTPS; session, CSRF and language cookies secure",
    )


def test_check_deploy_finds_nothing_with_the_production_settings(figure):
    run = production("check", "--deploy", "--fail-level", "WARNING")
    output = (run.stdout + run.stderr).strip()
    assert run.returncode == 0, output[-3000:]
    assert "System check identified no issues" in output, output
    figure(
        "deploy check",
        "manage.py check --deploy --fail-level WARNING with the production settings (dummy "
        "secrets), run inside the suite: no issues",
    )
