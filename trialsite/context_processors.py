"""Template context every page needs: the study's identity and the user's roles."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext

from trialsite import protocol
from trialsite.access import can_write, sees_all_sites
from trialsite.roles import Role


def trial(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    context: dict[str, Any] = {
        "study_registry_id": protocol.REGISTRY_ID,
        "study_short_title": protocol.STUDY_SHORT_TITLE,
        "study_title": gettext(protocol.STUDY_TITLE),
    }
    if user.is_authenticated:
        context.update(
            user_roles=sorted(str(role.label) for role in user.roles),
            user_can_write=can_write(user),
            user_sees_all_sites=sees_all_sites(user),
            user_is_investigator=Role.INVESTIGATOR in user.roles,
            user_is_data_manager=Role.DATA_MANAGER in user.roles,
            user_is_monitor=Role.MONITOR in user.roles,
        )
    return context
