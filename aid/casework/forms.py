"""Casework forms: the home visit (built for a teacher's phone), the pairing, teacher,
coverage and school-pairing pages.

They check the shape of the input and offer only choices from the user's scope; the rules
(what a visit must contain, same school, one active pairing, who may act) are in
aid.casework.services.
"""
import base64
import binascii
import re

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from aid.casework import services
from aid.casework.models import ExchangeActivity, HomeVisit, PolicyCheck
from aid.evidence.forms import PhotosField
from aid.reference.models import Term
from students.forms import DateInput
from students.importer import FULL_WIDTH
from students.models import School, Student

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


class PairSelectedForm(BulkPairingForm):
    """The students ticked on the student list with one teacher; a reason when some of
    them change teacher."""

    reason = forms.CharField(label=_("Reason for the change"), max_length=200, required=False)

    def __init__(self, *args, user, teachers, **kwargs):
        super().__init__(*args, user=user, teachers=teachers, **kwargs)
        self.fields["students"].queryset = Student.objects.visible_to(user).on_roster()
        self.fields["students"].widget = forms.MultipleHiddenInput()


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


class TeacherSlipsForm(forms.Form):
    """The ticked teachers of the teacher list, to be given one-time passwords."""

    teachers = forms.ModelMultipleChoiceField(
        queryset=User.objects.none(),
        error_messages={
            "required": _("Tick the teachers who need a login slip."),
            "invalid_choice": _("A ticked teacher is not an active teacher of your schools; no password was changed."),
        },
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["teachers"].queryset = services.pairing_teachers(user)


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
    goals = forms.CharField(label=_("Goals"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))

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


DELIVERED, NOT_DELIVERED = "yes", "no"


class VisitorChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, user):
        return f"{user} · {user.subject}" if user.subject else str(user)


class VisitForm(forms.ModelForm):
    """A visit with its other visitors, its policy checklist (delivered or not, and why,
    for each program that applies to the student) and the items handed over."""

    other_visitors = VisitorChoiceField(
        label=capfirst(HomeVisit._meta.get_field("other_visitors").verbose_name),
        queryset=get_user_model().objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    photos = PhotosField(
        help_text=_("Up to 6 photos, each at most 10 MB; the camera opens on a phone."),
    )

    class Meta:
        model = HomeVisit
        fields = [
            "visited_on",
            "mode",
            "study_situation",
            "living_situation",
            "remote_learning_feedback",
            "family_concerns",
            "measures",
            "dropout_risk",
            "follow_up_needed",
            "next_visit_on",
        ]
        widgets = {
            "visited_on": DateInput,
            "next_visit_on": DateInput,
            "mode": forms.RadioSelect,
            "dropout_risk": forms.RadioSelect,
            "study_situation": forms.Textarea(attrs={"rows": 2}),
            "living_situation": forms.Textarea(attrs={"rows": 2}),
            "remote_learning_feedback": forms.Textarea(attrs={"rows": 2}),
            "family_concerns": forms.Textarea(attrs={"rows": 2}),
            "measures": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, colleagues, programs, items, correction=False, **kwargs):
        """`colleagues`: who may be named as other visitors; `programs`: the checklist;
        `items`: the items that can be handed over; `correction`: a reason is asked for."""
        super().__init__(*args, **kwargs)
        visited_on = self.fields["visited_on"]
        visited_on.show_hidden_initial = False
        visited_on.widget.attrs["max"] = timezone.localdate().isoformat()
        if self.instance.pk is None:
            visited_on.initial = timezone.localdate()
        self.fields["other_visitors"].queryset = colleagues
        self.programs = programs
        self.delivery_items = items
        checks, quantities = {}, {}
        if self.instance.pk and not self.is_bound:
            checks, quantities = self._saved_details()
        reason_label = capfirst(PolicyCheck._meta.get_field("reason").verbose_name)
        for program in programs:
            check = checks.get(program.pk)
            answer = None if check is None else (DELIVERED if check.delivered else NOT_DELIVERED)
            self.fields[self.policy_field(program)] = forms.ChoiceField(
                label=program.name,
                choices=[(DELIVERED, _("Delivered")), (NOT_DELIVERED, _("Not delivered"))],
                widget=forms.RadioSelect,
                required=False,
                initial=answer,
            )
            self.fields[self.reason_field(program)] = forms.CharField(
                label=reason_label,
                max_length=200,
                required=False,
                initial="" if check is None else check.reason,
            )
        for item in items:
            self.fields[self.item_field(item)] = forms.IntegerField(
                label=item.name,
                min_value=0,
                max_value=999,
                required=False,
                initial=quantities.get(item.pk, 0),
                widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
            )
        if correction:
            self.fields["reason"] = forms.CharField(
                label=_("Reason for the correction"),
                max_length=500,
                widget=forms.Textarea(attrs={"rows": 2}),
            )

    def _saved_details(self):
        """What the visit being edited holds: its visitors, checklist and items."""
        self.initial["other_visitors"] = list(self.instance.other_visitors.all())
        checks = {check.program_id: check for check in self.instance.policy_checks.all()}
        quantities = dict(self.instance.deliveries.values_list("item_id", "quantity"))
        return checks, quantities

    @staticmethod
    def policy_field(program):
        return f"policy_{program.pk}"

    @staticmethod
    def reason_field(program):
        return f"policy_{program.pk}_reason"

    @staticmethod
    def item_field(item):
        return f"item_{item.pk}"

    def policy_lines(self):
        """(program, delivered field, reason field) for each line of the checklist."""
        return [
            (program, self[self.policy_field(program)], self[self.reason_field(program)])
            for program in self.programs
        ]

    def item_lines(self):
        return [(item, self[self.item_field(item)]) for item in self.delivery_items]

    def policy_answers(self):
        """{program id: (delivered, reason)} for the lines answered, as aid.casework.services wants."""
        answers = {}
        for program in self.programs:
            answer = self.cleaned_data.get(self.policy_field(program))
            if answer:
                answers[program.pk] = (
                    answer == DELIVERED,
                    self.cleaned_data.get(self.reason_field(program), ""),
                )
        return answers

    def deliveries(self):
        """{item: quantity}, 0 for the items not handed over."""
        return {
            item: self.cleaned_data.get(self.item_field(item)) or 0 for item in self.delivery_items
        }

    def add_service_error(self, error):
        """Put a ValidationError of aid.casework.services beside its field or checklist line."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        by_id = {program.pk: program for program in self.programs}
        for key, messages in error.error_dict.items():
            if key in by_id:
                self.add_error(self.policy_field(by_id[key]), messages)
            elif key in self.fields:
                self.add_error(key, messages)
            else:
                self.add_error(None, messages)
