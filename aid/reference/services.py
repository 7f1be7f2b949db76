"""Saving the reference lists from their pages: a county's bureau administrator its own
county's entries, IT staff (superusers) every entry, the shared ones included."""
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from aid.reference.models import ProgramStandard
from students import permissions
from students.choices import RegionLevel
from students.models import School


def _check_may_save(actor, instance):
    """New entries belong to the actor's county (IT staff choose); existing ones must be
    among those the actor may edit (editable_by)."""
    model = type(instance)
    if instance.pk is not None:
        if not model.objects.editable_by(actor).filter(pk=instance.pk).exists():
            raise PermissionDenied
    elif not permissions.may(actor, permissions.ADD, model):
        raise PermissionDenied
    if not actor.is_superuser:
        if actor.region is None or actor.region.level != RegionLevel.COUNTY:
            raise PermissionDenied
        instance.region = actor.region


@transaction.atomic
def reference_save(*, actor, instance):
    """Save a delivery item or a checklist point (or, through program_save, a program)."""
    _check_may_save(actor, instance)
    instance.full_clean()
    instance._history_user = actor
    instance.save()
    return instance


@transaction.atomic
def program_save(*, actor, program, schools, standards):
    """Save a program, the schools it is limited to and its standard amounts by stage
    (`standards`: {stage: Decimal or None}; an amount left empty, or a stage no longer
    eligible, removes that standard). A county's program names only that county's schools."""
    reference_save(actor=actor, instance=program)
    chosen = {school.pk for school in schools}
    allowed = School.objects.visible_to(actor).filter(pk__in=chosen)
    if program.region is not None:
        allowed = allowed.filter(region__code__startswith=program.region.code)
    if set(allowed.values_list("pk", flat=True)) != chosen:
        raise ValidationError({"schools": _("Choose only schools of the program's county.")})
    program.schools.set(schools)
    current = {standard.stage: standard for standard in program.standards.all()}
    for stage, standard in current.items():
        if stage not in program.stages or standards.get(stage) is None:
            standard._history_user = actor
            standard.delete()
    for stage in program.stages:
        amount = standards.get(stage)
        if amount is None:
            continue
        standard = current.get(stage) or ProgramStandard(program=program, stage=stage)
        if standard.pk is None or standard.amount != amount:
            standard.amount = amount
            standard._history_user = actor
            standard.full_clean()
            standard.save()
    return program
