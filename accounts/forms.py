from django import forms
from django.contrib.auth.forms import PasswordChangeForm
from django.utils.translation import gettext_lazy as _


class OwnPasswordForm(PasswordChangeForm):
    """The user's own new password: the site's password rules, and not the current one.
    Saving it also lifts the duty to change a password someone else chose."""

    def clean(self):
        cleaned_data = super().clean()
        new = cleaned_data.get("new_password1")
        if new and self.user.check_password(new):
            self.add_error("new_password1", _("Choose a password different from the current one."))
        return cleaned_data

    def save(self, commit=True):
        self.user.must_change_password = False
        return super().save(commit)


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
        help_text=_("The six digits your authenticator app shows now, or one of your recovery codes."),
    )
