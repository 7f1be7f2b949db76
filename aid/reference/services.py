"""The reference lists the bureau maintains itself in the admin site: terms, aid programs
and their standard amounts, the items handed over on visits, the inspection checklist."""
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType

from aid.reference.models import (
    AidProgram,
    ChecklistItem,
    DeliveryItem,
    ProgramStandard,
    Term,
)

REFERENCE_MODELS = (Term, AidProgram, ProgramStandard, DeliveryItem, ChecklistItem)
GROUP_NAME = "资助中心参数维护"


def reference_editors():
    """The group whose members may view, add and change the reference lists (not delete:
    batches and visits refer to them)."""
    group, _created = Group.objects.get_or_create(name=GROUP_NAME)
    content_types = ContentType.objects.get_for_models(*REFERENCE_MODELS).values()
    permissions = Permission.objects.filter(
        content_type__in=content_types, codename__regex=r"^(view|add|change)_"
    )
    group.permissions.set(permissions)
    return group


def grant_reference_editing(user):
    """A bureau administrator maintains the lists in the admin site (and only those)."""
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.groups.add(reference_editors())
