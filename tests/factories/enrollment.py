"""Consent form versions, consents and participants, built through the real services.

    ParticipantFactory(site=site, coordinator=alice, investigator=ivan)
    ParticipantFactory(site=site, withdrawn_on=date(2026, 11, 14))   # then withdrawn
    ConsentFactory(screening=screening, obtained_by=alice)           # guardian consent
    ConsentFactory(screening=screening, kind=ConsentKind.CHILD_ASSENT, obtained_by=alice)

A participant is enrolled as a coordinator would do it: eligible screening, the
investigator's signature, consent (and assent from age 8), ``enroll_participant``.
A consent goes through the consent form and ``consent_record`` (so it is refused after
withdrawal, as in the app).
"""

from __future__ import annotations

from datetime import date, timedelta

import factory
from django.utils import timezone

from demo.participants import ASSENT_VERSION, CONSENT_VERSION, ready_to_enrol
from enrollment import forms, services
from enrollment.models import (
    Consent,
    ConsentFormVersion,
    ConsentKind,
    GuardianRelationship,
    Participant,
)
from tests.factories.eligibility import DAY_0, EligibleScreeningFactory, ServiceFactory
from tests.factories.trialsite import PASSWORD, SiteFactory, UserFactory
from trialsite.roles import Role


class ConsentFormVersionFactory(factory.django.DjangoModelFactory):
    """A form version (the demo's 1.0 unless told); a new one for re-consent goes through
    ``consent_form_version_register``, which flags participants."""

    class Meta:
        model = ConsentFormVersion
        django_get_or_create = ("kind", "version")

    kind = ConsentKind.GUARDIAN_CONSENT
    version = factory.LazyAttribute(
        lambda o: CONSENT_VERSION if o.kind == ConsentKind.GUARDIAN_CONSENT else ASSENT_VERSION
    )
    effective_from = date(2024, 3, 1)


class ConsentFactory(ServiceFactory):
    """A guardian consent (or, with ``kind``, a child assent) entered on the consent form."""

    class Meta:
        model = Consent

    screening = factory.SubFactory(EligibleScreeningFactory)
    kind = ConsentKind.GUARDIAN_CONSENT
    form_version = factory.LazyAttribute(lambda o: ConsentFormVersionFactory(kind=o.kind))
    signed_on = factory.LazyAttribute(lambda o: o.screening.screening_date)
    guardian_relationship = factory.LazyAttribute(
        lambda o: GuardianRelationship.MOTHER if o.kind == ConsentKind.GUARDIAN_CONSENT else ""
    )
    obtained_by = factory.SubFactory(UserFactory, role=Role.COORDINATOR)

    @classmethod
    def _create(cls, model_class, *, screening, obtained_by, **fields) -> Consent:
        data = {
            "kind": fields["kind"],
            "form_version": fields["form_version"].pk,
            "signed_on": fields["signed_on"],
            "guardian_relationship": fields["guardian_relationship"],
            "obtained_by": obtained_by.pk,
        }
        # Entered on the day it was signed (or later): the form refuses future dates.
        today = max(fields["signed_on"], timezone.localdate())
        form = forms.ConsentForm(data=data, today=today)
        assert form.is_valid(), form.errors.as_json()
        return services.consent_record(form=form, user=obtained_by, screening=screening)


class ParticipantFactory(ServiceFactory):
    """An enrolled participant: screened two weeks and enrolled a week before Day 0.

    ``coordinator`` enrols (and obtains consent), ``investigator`` signs the eligibility;
    both are made at the participant's site when not given. ``withdrawn_on`` then
    records the guardian's withdrawal through ``withdraw_consent``.
    """

    class Meta:
        model = Participant
        skip_postgeneration_save = True

    class Params:
        coordinator = None

    _service_only = ("investigator", "date_of_birth", "sex")

    site = factory.SubFactory(SiteFactory)
    planned_day_0 = DAY_0
    enrolled_on = factory.LazyAttribute(lambda o: o.planned_day_0 - timedelta(days=7))
    enrolled_by = factory.SelfAttribute("coordinator")
    investigator = None
    date_of_birth = date(2013, 4, 2)
    sex = "F"

    @classmethod
    def _create(
        cls,
        model_class,
        *,
        site,
        planned_day_0,
        enrolled_on,
        enrolled_by,
        investigator,
        date_of_birth,
        sex,
    ) -> Participant:
        coordinator = enrolled_by or UserFactory(role=Role.COORDINATOR, sites=[site])
        investigator = investigator or UserFactory(role=Role.INVESTIGATOR, sites=[site])
        screening = ready_to_enrol(
            site=site,
            coordinator=coordinator,
            investigator=investigator,
            investigator_password=PASSWORD,
            day_0=planned_day_0,
            date_of_birth=date_of_birth,
            sex=sex,
        )
        return services.enroll_participant(
            screening=screening, user=coordinator, enrolled_on=enrolled_on
        )

    @factory.post_generation
    def withdrawn_on(participant, create: bool, withdrawn_on: date | None, **kwargs) -> None:
        if create and withdrawn_on is not None:
            services.withdraw_consent(
                participant=participant,
                user=participant.enrolled_by,
                withdrawn_on=withdrawn_on,
                data_may_be_kept=kwargs.get("data_may_be_kept", True),
            )
            participant.refresh_from_db()


# --- the helpers older tests call ------------------------------------------------------


def make_ready_screening(*, site, coordinator, investigator, day_0=DAY_0, **kw):
    """Eligible, signed by ``investigator``, guardian consent (and assent) recorded."""
    return ready_to_enrol(
        site=site,
        coordinator=coordinator,
        investigator=investigator,
        investigator_password=PASSWORD,
        day_0=day_0,
        **kw,
    )


def make_participant(*, site, coordinator, investigator, day_0=DAY_0, **kw):
    return ParticipantFactory(
        site=site, coordinator=coordinator, investigator=investigator, planned_day_0=day_0, **kw
    )


def days_before(day: date, n: int) -> date:
    return day - timedelta(days=n)


__all__ = [
    "ConsentFactory",
    "ConsentFormVersionFactory",
    "ParticipantFactory",
    "make_participant",
    "make_ready_screening",
]
