"""Password rules beyond Django's own (settings.AUTH_PASSWORD_VALIDATORS)."""
import string

from django.core.exceptions import ValidationError
from django.utils.translation import ngettext

CHARACTER_CLASSES = (
    set(string.ascii_lowercase),
    set(string.ascii_uppercase),
    set(string.digits),
)


def character_classes(password):
    """How many of the four kinds of character the password uses: lower case, upper case,
    digits, and anything else (symbols, spaces, Chinese characters)."""
    used = sum(1 for characters in CHARACTER_CLASSES if characters & set(password))
    others = any(not any(character in kind for kind in CHARACTER_CLASSES) for character in password)
    return used + others


class CharacterClassesValidator:
    """At least `min_classes` of lower case, upper case, digits and symbols."""

    def __init__(self, min_classes=3):
        self.min_classes = min_classes

    def validate(self, password, user=None):
        if character_classes(password) < self.min_classes:
            raise ValidationError(self.message(), code="password_too_simple")

    def get_help_text(self):
        return self.message()

    def message(self):
        return ngettext(
            "Use at least %(count)d kind of character: lower case, upper case, digits, symbols.",
            "Use at least %(count)d of these kinds of character: lower case, upper case, digits, symbols.",
            self.min_classes,
        ) % {"count": self.min_classes}
