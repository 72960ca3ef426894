"""The floor: the cheapest page a logged-in user can get (bench settings only)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template import engines

# The app's own layout (navigation, roles, footer) around nothing: what every page pays
# before it does any work of its own.
_FLOOR = engines["django"].from_string(
    '{% extends "base.html" %}{% block content %}<h1 class="h3">Floor</h1>{% endblock %}'
)


def floor(request: HttpRequest) -> HttpResponse:
    """Login required (LoginRequiredMiddleware), same middleware as every page."""
    return HttpResponse(_FLOOR.render({}, request))
