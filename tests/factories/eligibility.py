"""Screenings and their items, built through the real eligibility services.

``create()`` goes through ``eligibility.services`` (numbering, audit, reassessment),
so a factory-made screening has the status and signatures a real one would have;
``build()`` gives an unsaved ``Screening`` for rule tests that need no database.

    ScreeningFactory(site=site, user=coordinator)            # candidate section only
    EligibleScreeningFactory(site=site, user=coordinator)     # every item: "eligible"
    EligibleScreeningFactory(site=site, hbsag="positive")           # an item changed: EXC4
    PriorTherapyFactory(screening=screening, drug_name="azathioprine")
    ScreeningLabFactory(screening=screening, analyte="igg", value_entered=Decimal("3"))
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import factory

from demo.screenings import ELIGIBLE_ITEMS, ELIGIBLE_LABS, build_screening
from eligibility import forms, services
from eligibility.models import PriorTherapy, Screening, ScreeningLab, Sex
from tests.factories.trialsite import SiteFactory
from trialsite import units, workflow
from trialsite.audit import audit_context

SCREENED_ON = date(2026, 11, 2)
DAY_0 = date(2026, 11, 20)


class ServiceFactory(factory.django.DjangoModelFactory):
    """A factory whose ``create()`` calls a service; ``build()`` drops the arguments only
    the service takes (listed in ``_service_only``)."""

    class Meta:
        abstract = True

    _service_only: tuple[str, ...] = ()

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        for name in cls._service_only:
            kwargs.pop(name, None)
        return model_class(*args, **kwargs)


class ScreeningFactory(ServiceFactory):
    """A new, mostly empty screening (candidate section only), numbered by the service."""

    class Meta:
        model = Screening

    class Params:
        user = None

    site = factory.SubFactory(SiteFactory)
    screening_date = SCREENED_ON
    date_of_birth = date(2015, 3, 14)
    sex = Sex.FEMALE
    planned_day_0 = DAY_0
    created_by = factory.SelfAttribute("user")

    @classmethod
    def _create(cls, model_class, *, site, created_by=None, **fields) -> Screening:
        return services.screening_create(site=site, user=created_by, **fields)


class EligibleScreeningFactory(ServiceFactory):
    """A screening with every item, lab and prior therapy entered that comes out "eligible".

    Any screening item (``ELIGIBLE_ITEMS``) can be overridden by name; ``labs``,
    ``therapies`` and ``lab_date`` say what else is entered.
    """

    class Meta:
        model = Screening

    class Params:
        user = None

    _service_only = ("labs", "therapies", "lab_date")

    site = factory.SubFactory(SiteFactory)
    screening_date = SCREENED_ON
    planned_day_0 = factory.LazyAttribute(lambda o: o.screening_date + timedelta(days=14))
    date_of_birth = date(2014, 5, 10)
    sex = Sex.FEMALE
    created_by = factory.SelfAttribute("user")
    labs = ELIGIBLE_LABS
    therapies = True
    lab_date = None
    locals().update(ELIGIBLE_ITEMS)  # each item a declaration, overridable by name

    @classmethod
    def _create(
        cls,
        model_class,
        *,
        site,
        created_by=None,
        screening_date,
        planned_day_0,
        date_of_birth,
        sex,
        labs,
        therapies,
        lab_date,
        **items,
    ) -> Screening:
        return build_screening(
            site=site,
            user=created_by,
            screening_date=screening_date,
            planned_day_0=planned_day_0,
            date_of_birth=date_of_birth,
            sex=sex,
            items=items,
            labs=labs,
            therapies=therapies,
            lab_date=lab_date,
        )


class PriorTherapyFactory(ServiceFactory):
    """A prior therapy entered through the form and ``prior_therapy_save`` (reassessed)."""

    class Meta:
        model = PriorTherapy

    class Params:
        user = None

    screening = factory.SubFactory(ScreeningFactory)
    drug_name = "azathioprine"
    drug_class = ""  # empty: the form fills it in from the protocol's drug lists
    start = factory.LazyAttribute(lambda o: o.screening.screening_date - timedelta(days=400))
    stop = None
    created_by = factory.SelfAttribute("user")

    @classmethod
    def _create(cls, model_class, *, screening, created_by=None, **fields) -> PriorTherapy:
        data = {key: "" if value is None else value for key, value in fields.items()}
        form = forms.PriorTherapyForm(
            data=data, screening=screening, today=screening.screening_date
        )
        assert form.is_valid(), form.errors.as_json()
        return services.prior_therapy_save(form=form, user=created_by)


class ScreeningLabFactory(ServiceFactory):
    """A screening lab, stored as entered and in its canonical unit; the screening is
    reassessed as after the labs form."""

    class Meta:
        model = ScreeningLab

    class Params:
        user = None

    screening = factory.SubFactory(ScreeningFactory)
    analyte = "igg"
    value_entered = Decimal("12")
    unit_entered = factory.LazyAttribute(lambda o: units.get_analyte(o.analyte).units[0].key)
    value = factory.LazyAttribute(
        lambda o: units.to_canonical(o.analyte, o.value_entered, o.unit_entered)
    )
    taken_on = factory.LazyAttribute(lambda o: o.screening.screening_date)
    created_by = factory.SelfAttribute("user")

    @classmethod
    def _create(cls, model_class, *, created_by=None, **fields) -> ScreeningLab:
        with audit_context(created_by, "initial entry"):
            lab = ScreeningLab.objects.create(
                created_by=created_by, updated_by=created_by, **fields
            )
            workflow.record_changed(lab, user=created_by)
        services.screening_reassess(lab.screening, user=created_by)
        return lab


# --- the helpers older tests call ------------------------------------------------------


def make_screening(*, site, user=None, **fields) -> Screening:
    """A new, mostly empty screening (candidate section only)."""
    return ScreeningFactory(site=site, user=user, **fields)


def make_eligible_screening(*, site, user=None, items: dict | None = None, **overrides):
    """A screening with every item entered that comes out "eligible"."""
    return EligibleScreeningFactory(site=site, user=user, **(items or {}), **overrides)
