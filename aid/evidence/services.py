"""The one write path for evidence: pictures already cleaned by common.images are stored
with the record they belong to. The callers (the visit, rectification and batch services
and views) have checked that the actor may change that record."""
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db import transaction

from aid.subsidies.models import DisbursementLine
from students.models import School
from students.permissions import CHANGE, may

from .models import Attachment

# At most this many pictures are sent with one form (a phone's upload stays small enough).
MAX_PICTURES_PER_UPLOAD = 6


@transaction.atomic
def attachments_add(*, actor, pictures, kind, **record):
    """Store each PreparedImage of `pictures` as an Attachment of `kind` for `record`
    (visit=…, rectification=… or batch=… and school=…), in the order given."""
    added = []
    for picture in pictures:
        attachment = Attachment(kind=kind, uploaded_by=actor, width=picture.width, height=picture.height, **record)
        attachment.image.save("picture.jpg", ContentFile(picture.display), save=False)
        attachment.thumbnail.save("thumbnail.jpg", ContentFile(picture.thumbnail), save=False)
        attachment._history_user = actor
        attachment.save()
        added.append(attachment)
    return added


def signed_roster_add(*, actor, batch, school, pictures):
    """Scanned pages of `school`'s signed roster for `batch`: by whoever keeps the batch's
    lines (the bureau, or the school for its own lines), for a school with lines in it."""
    if not may(actor, CHANGE, DisbursementLine):
        raise PermissionDenied
    schools = School.objects.visible_to(actor).filter(pk__in=batch.lines.values("school_id"))
    if not schools.filter(pk=school.pk).exists():
        raise PermissionDenied
    return attachments_add(actor=actor, pictures=pictures, kind=Attachment.Kind.SIGNED_ROSTER, batch=batch, school=school)
