"""The photo field of the visit, rectification and signed-roster forms: several pictures
at once, from the phone's camera or its gallery, each checked by common.images."""
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from common.images import prepare_image

from .services import MAX_PICTURES_PER_UPLOAD


class CameraInput(forms.ClearableFileInput):
    """Opens the camera on a phone (the gallery stays available); several files at once."""

    allow_multiple_selected = True

    def __init__(self, attrs=None):
        super().__init__({"accept": "image/*", "capture": "environment", **(attrs or {})})


class PhotosField(forms.FileField):
    """Cleans to a list of PreparedImage (empty when nothing was chosen); every file that
    is not a usable photo gets its own message beside the field."""

    widget = CameraInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", _("Photos"))
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        uploads = [upload for upload in (data if isinstance(data, (list, tuple)) else [data]) if upload]
        if not uploads:
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return []
        if len(uploads) > MAX_PICTURES_PER_UPLOAD:
            raise ValidationError(
                ngettext_lazy(
                    "Send at most %(limit)d photo at a time.", "Send at most %(limit)d photos at a time.",
                    "limit",
                ),
                code="too_many",
                params={"limit": MAX_PICTURES_PER_UPLOAD},
            )
        pictures, errors = [], []
        for upload in uploads:
            try:
                pictures.append(prepare_image(upload))
            except ValidationError as error:
                errors.append(error)
        if errors:
            raise ValidationError(errors)
        return pictures


class SignedRosterForm(forms.Form):
    """Scanned pages of one school's signed roster for a batch."""

    school = forms.IntegerField(widget=forms.HiddenInput)
    pictures = PhotosField(label=_("Scanned pages of the signed roster"), required=True)
