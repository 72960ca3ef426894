"""A small HTTP client for the load generator: one ``User`` is one person at a browser.

Standard library only (``http.client``): a fresh connection per request, as gunicorn's
sync workers close it anyway; cookies kept by hand (session, CSRF, messages); the
server's own figures read from the headers ``bench.middleware`` adds.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import re
import struct
import time
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import urlencode

from bench.middleware import QUERIES_HEADER, TIME_HEADER

# demo.loaddata.TOTP_KEY (bench databases only) and django-otp's TOTP parameters.
TOTP_KEY = "62656e63682d6f6e6c792d746f74702d6b6579"
TOTP_STEP = 30


def totp(key_hex: str, t: int, digits: int = 6) -> str:
    """RFC 6238 (HMAC-SHA1) code of time step ``t``."""
    mac = hmac.new(bytes.fromhex(key_hex), struct.pack(">Q", t), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


_INPUT = re.compile(r"<input\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r'(\w[\w-]*)="([^"]*)"')
_TEXTAREA = re.compile(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', re.S)


@dataclass(frozen=True)
class Response:
    status: int
    location: str
    body: str
    client_ms: float
    server_ms: float | None
    queries: int | None


def form_fields(html: str) -> dict[str, str]:
    """The values a browser would post back from the page's inputs (text, hidden, checked)."""
    import html as htmllib

    fields: dict[str, str] = {}
    for tag in _INPUT.findall(html):
        attrs = dict(_ATTR.findall(tag))
        name = attrs.get("name")
        if not name:
            continue
        kind = attrs.get("type", "text").lower()
        if kind in ("radio", "checkbox") and "checked" not in tag:
            continue
        if kind in ("submit", "button"):
            continue
        fields[name] = htmllib.unescape(attrs.get("value", ""))
    for name, text in _TEXTAREA.findall(html):
        fields[name] = htmllib.unescape(text.strip())
    return fields


class User:
    """A logged-in person; ``servers`` are (host, port) pairs used in turn (scale-out leg)."""

    def __init__(self, username: str, password: str, servers: list[tuple[str, int]]) -> None:
        self.username = username
        self.password = password
        self.servers = servers
        self.cookies: dict[str, str] = {}
        self._turn = 0

    def _server(self) -> tuple[str, int]:
        server = self.servers[self._turn % len(self.servers)]
        self._turn += 1
        return server

    def request(
        self, method: str, path: str, data: dict[str, str] | None = None, timeout: float = 900
    ) -> Response:
        host, port = self._server()
        headers = {"Host": f"{host}:{port}", "User-Agent": "trialsite-bench"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if data is not None:
            body = urlencode(data)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
        started = time.perf_counter()
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            content = response.read()
        finally:
            conn.close()
        client_ms = (time.perf_counter() - started) * 1000
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        server_ms = response.headers.get(TIME_HEADER)
        queries = response.headers.get(QUERIES_HEADER)
        return Response(
            status=response.status,
            location=response.headers.get("Location", ""),
            body=content.decode("utf-8", "replace"),
            client_ms=client_ms,
            server_ms=float(server_ms) if server_ms else None,
            queries=int(queries) if queries else None,
        )

    def log_in(self) -> None:
        page = self.request("GET", "/accounts/login/")
        token = form_fields(page.body).get("csrfmiddlewaretoken", "")
        done = self.request(
            "POST",
            "/accounts/login/",
            {"username": self.username, "password": self.password, "csrfmiddlewaretoken": token},
        )
        if done.status == 302 and done.location.endswith("/accounts/login/code/"):
            done = self._second_factor(done.location)
        if done.status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"{self.username} could not log in (HTTP {done.status})")

    def _second_factor(self, path: str) -> Response:
        """Type the authenticator's code, as an investigator does (the load data gives
        each such user one with a known key).  A code is accepted once: the next time
        step's code is also valid, else wait for one."""
        for _attempt in range(3):
            step = int(time.time()) // TOTP_STEP
            for t in (step, step + 1):
                page = self.request("GET", path)
                token = form_fields(page.body).get("csrfmiddlewaretoken", "")
                done = self.request(
                    "POST", path, {"code": totp(TOTP_KEY, t), "csrfmiddlewaretoken": token}
                )
                if done.status == 302:
                    return done
            time.sleep(TOTP_STEP)
        return done
