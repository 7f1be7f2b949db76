"""Forms of the pairing, teacher, coverage and school-pairing pages.

They check the shape of the input and offer only choices from the user's scope; the rules
(same school, one active pairing, who may act) are in aid.services.
"""
import base64
import binascii
import re

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from students.importer import FULL_WIDTH
from students.models import School, Student

from . import services
from students.forms import DateInput
from .models import ExchangeActivity, Term

User = get_user_model()
MOBILE = re.compile(r"1\d{10}")


class TeacherChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, teacher):
        parts = [str(teacher), teacher.subject, teacher.school.name]
        return " · ".join(part for part in parts if part)


class PairingAssignForm(forms.Form):
    """One student: a teacher of the student's school; a reason when one is replaced."""

    teacher = TeacherChoiceField(label=_("Teacher"), queryset=User.objects.none())
    started_on = forms.DateField(label=_("Starts on"), widget=DateInput, initial=timezone.localdate)
    reason = forms.CharField(
        label=_("Reason for the change"),
        max_length=200,
        required=False,
        help_text=_("Required when the student already has a pairing teacher."),
    )

    def __init__(self, *args, user, student, current_pairing, **kwargs):
        super().__init__(*args, **kwargs)
        self.current_pairing = current_pairing
        self.fields["teacher"].queryset = services.pairing_teachers(user).filter(school_id=student.school_id)
        if current_pairing is not None:
            self.fields["reason"].required = True

    def clean_teacher(self):
        teacher = self.cleaned_data["teacher"]
        if self.current_pairing is not None and self.current_pairing.teacher_id == teacher.pk:
            raise ValidationError(_("This teacher is already the student's pairing teacher."))
        return teacher


class BulkPairingForm(forms.Form):
    """Several students of the work list with one teacher."""

    students = forms.ModelMultipleChoiceField(
        label=_("Students"),
        queryset=Student.objects.none(),
        error_messages={"required": _("Tick the students to pair.")},
    )
    teacher = TeacherChoiceField(label=_("Teacher"), queryset=User.objects.none())
    started_on = forms.DateField(label=_("Starts on"), widget=DateInput, initial=timezone.localdate)

    def __init__(self, *args, user, teachers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["students"].queryset = services.unpaired_students(user)
        self.fields["teacher"].queryset = teachers


class PairingEndForm(forms.Form):
    reason = forms.CharField(label=_("Why does the pairing end?"), max_length=200)
    ended_on = forms.DateField(label=_("Ends on"), widget=DateInput, initial=timezone.localdate)


def clean_mobile(text):
    phone = "".join(str(text).translate(FULL_WIDTH).split()).replace("-", "")
    if not MOBILE.fullmatch(phone):
        raise ValidationError(_("Enter a mobile phone number: 11 digits starting with 1."))
    return phone


class PasswordTwiceMixin:
    """Two password fields that must match and pass the site's password rules."""

    def check_passwords(self, account):
        first = self.cleaned_data.get("password1")
        second = self.cleaned_data.get("password2")
        if first and second:
            if first != second:
                self.add_error("password2", _("The two passwords differ."))
                return
            try:
                password_validation.validate_password(first, account)
            except ValidationError as error:
                self.add_error("password1", error)


def password_fields():
    return (
        forms.CharField(
            label=_("Password"),
            strip=False,
            widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
            help_text=password_validation.password_validators_help_text_html(),
        ),
        forms.CharField(
            label=_("Password again"),
            strip=False,
            widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        ),
    )


class TeacherForm(PasswordTwiceMixin, forms.Form):
    """A new teacher account: the mobile phone number is the login."""

    full_name = forms.CharField(label=_("Name"), max_length=50)
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=20,
        help_text=_("The teacher logs in with this number."),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    school = forms.ModelChoiceField(label=_("School"), queryset=School.objects.none())
    subject = forms.CharField(
        label=_("Subject or duty"), max_length=30, required=False, help_text=_("e.g. 数学, 心理健康, 校长.")
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password1"], self.fields["password2"] = password_fields()
        schools = School.objects.visible_to(user)
        self.fields["school"].queryset = schools
        if user.school_id:
            self.fields["school"].initial = user.school_id

    def clean_full_name(self):
        return "".join(self.cleaned_data["full_name"].split())

    def clean_phone(self):
        return clean_mobile(self.cleaned_data["phone"])

    def clean(self):
        cleaned_data = super().clean()
        account = User(
            username=cleaned_data.get("phone", ""),
            full_name=cleaned_data.get("full_name", ""),
            phone=cleaned_data.get("phone", ""),
        )
        self.check_passwords(account)
        return cleaned_data


class TeacherPasswordForm(PasswordTwiceMixin, forms.Form):
    """Set the password of a teacher in scope, e.g. the first one of an imported account."""

    teacher = forms.ModelChoiceField(queryset=User.objects.none(), widget=forms.HiddenInput)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password1"], self.fields["password2"] = password_fields()
        self.fields["teacher"].queryset = services.pairing_teachers(user)

    def clean(self):
        cleaned_data = super().clean()
        if cleaned_data.get("teacher"):
            self.check_passwords(cleaned_data["teacher"])
        return cleaned_data


class TeacherImportForm(forms.Form):
    file = forms.FileField(
        label=_("Teacher list"),
        help_text=_("An .xlsx, .xls or .csv file with the columns 姓名, 手机号, 学校 and 学科; the header row may be below a title."),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.xls,.csv,.et"}),
    )


class TeacherImportApplyForm(forms.Form):
    """The checked file, sent back with the page so that applying needs no stored upload.

    Applying reads and checks it again, so what comes back is never trusted as checked.
    """

    content = forms.CharField(widget=forms.HiddenInput, strip=False)
    file_name = forms.CharField(widget=forms.HiddenInput, max_length=255)

    @classmethod
    def for_file(cls, data, file_name):
        return cls(initial={"content": base64.b64encode(data).decode("ascii"), "file_name": file_name})

    def clean_content(self):
        try:
            return base64.b64decode(self.cleaned_data["content"], validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError(_("The checked file was not sent back intact; upload it again.")) from None


class TermForm(forms.Form):
    term = forms.ModelChoiceField(label=_("Term"), queryset=Term.objects.all(), empty_label=None)


class SchoolPairingForm(forms.Form):
    lead_school = forms.ModelChoiceField(label=_("Supporting school"), queryset=School.objects.none())
    supported_schools = forms.ModelMultipleChoiceField(
        label=_("Supported schools"),
        queryset=School.objects.none(),
        help_text=_("One school, or several for one-to-many support."),
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )
    started_on = forms.DateField(label=_("Starts on"), widget=DateInput, initial=timezone.localdate)
    goals = forms.CharField(label=_("Goals"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        schools = School.objects.visible_to(user).order_by("-is_urban", "name")
        self.fields["lead_school"].queryset = schools
        self.fields["supported_schools"].queryset = schools.order_by("-is_weak", "-is_poor_village", "name")


class ActivityForm(forms.ModelForm):
    class Meta:
        model = ExchangeActivity
        fields = ["kind", "held_on", "participants", "summary"]
        widgets = {"held_on": DateInput, "summary": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["held_on"].initial = timezone.localdate
