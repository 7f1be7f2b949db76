"""Home visits: a teacher's students, the visit form, the visit list, detail and export.

Every write goes through aid.casework.services (visit_record, visit_update); these views only pick
the records in the user's scope, show the forms and turn service errors into messages.
"""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, F, OuterRef, Prefetch, Q
from django.urls import reverse
from django.utils.html import format_html
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.generic import DetailView, ListView, TemplateView
from django_filters.views import FilterView

from aid.casework import services
from aid.casework.coverage import VISIT_INTERVAL_WITHOUT_TERM, with_visit_status
from aid.casework.filters import VisitFilter
from aid.casework.forms import VisitForm
from aid.dashboard.worklists import worklists_for
from aid.casework.models import HomeVisit, PolicyCheck, VisitDelivery
from aid.reference.models import DeliveryItem, Term, programs_applying_to
from common.excel import ExportColumn
from common.masking import id_number_for
from common.paging import KeysFirstPaginator
from students.choices import Role
from students.models import Student
from students.permissions import ADD, CHANGE, EXPORT, VIEW
from students.views.base import ExcelExportMixin, StaffViewMixin
from students.views.registry import history_entries

class MyStudentsView(StaffViewMixin, ListView):
    """A teacher's start page on the phone: their students, those due for a visit first, a
    phone's screenful at a time (a class teacher may be responsible for a whole class)."""

    permission = (VIEW, Student)
    template_name = "aid/my_students.html"
    context_object_name = "students"
    paginate_by = 25

    def get(self, request, *args, **kwargs):
        if request.user.role != Role.TEACHER:
            return redirect("students:student_list")  # for others it would be the county
        self.today = timezone.localdate()
        self.term = Term.objects.current(self.today)
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return with_visit_status(
            Student.objects.visible_to(self.request.user).on_roster(), self.term, self.today
        ).select_related("household").order_by("-due", "name", "pk")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            term=self.term,
            due_count=self.object_list.filter(due=True).count(),
            interval_days=VISIT_INTERVAL_WITHOUT_TERM.days,
            worklists=worklists_for(self.request.user, today=self.today),
        )
        return context


class VisitFormView(StaffViewMixin, TemplateView):
    """The visit form on a phone; subclasses set `self.student` and `self.visit` in
    `dispatch` (404 outside the scope, 403 for who may not write)."""

    template_name = "aid/visit_form.html"
    correction = False

    def get_form(self):
        author = self.visit.author if self.visit else self.request.user
        offered = Q(is_active=True)
        if self.visit:  # an item no longer offered stays on the visits that handed it over
            offered |= Q(pk__in=self.visit.deliveries.values("item_id"))
        return VisitForm(
            self.request.POST if self.request.method == "POST" else None,
            self.request.FILES if self.request.method == "POST" else None,
            instance=self.visit or HomeVisit(student=self.student),
            colleagues=services.visit_colleagues(self.student).exclude(pk=author.pk),
            programs=programs_applying_to(self.student),
            items=list(DeliveryItem.objects.serving(self.student.school.region).filter(offered)),
            correction=self.correction,
        )

    def render_form(self, form, status=200):
        user = self.request.user
        target = f"visit:{self.visit.pk}" if self.visit else f"student:{self.student.pk}"
        context = self.get_context_data(
            form=form,
            student=self.student,
            visit=self.visit,
            correction=self.correction,
            draft_key=f"visit-draft:{user.pk}:{target}",
            saved_photos=self.visit.photos.select_related("uploaded_by") if self.visit else (),
        )
        return self.render_to_response(context, status=status)

    def get(self, request, *args, **kwargs):
        return self.render_form(self.get_form())

    def post(self, request, *args, **kwargs):
        form = self.get_form()
        if form.is_valid():
            try:
                visit = self.save(form)
            except ValidationError as error:
                form.add_service_error(error)
            else:
                messages.success(request, self.saved_message(visit))
                return redirect(visit)
        return self.render_form(form, status=400)


    def saved_message(self, visit):
        """"Saved", and for a teacher the next of their students due a visit (the one
        waiting longest), so the next visit is one tap away."""
        user = self.request.user
        if user.role != Role.TEACHER:
            return _("The visit is saved.")
        today = timezone.localdate()
        due = (
            with_visit_status(
                Student.objects.visible_to(user).on_roster().exclude(pk=visit.student_id),
                Term.objects.current(today), today,
            )
            .filter(due=True)
            .order_by(F("last_visited_on").asc(nulls_first=True), "name", "pk")
            .first()
        )
        if due is None:
            return _("The visit is saved. None of your students is due a visit now.")
        return format_html(
            '{} <a href="{}" id="next-due">{}</a>',
            _("The visit is saved."),
            reverse("aid:visit_create", args=[due.pk]),
            _("Next due: %(name)s ›") % {"name": due.name},
        )


class VisitCreateView(VisitFormView):
    permission = (ADD, HomeVisit)

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.student = get_object_or_404(
                Student.objects.visible_to(request.user).select_related("household"),
                pk=kwargs["student_pk"],
            )
            if not services.may_record_visit(request.user, self.student):
                raise PermissionDenied
            self.visit = None
        return super().dispatch(request, *args, **kwargs)

    def save(self, form):
        return services.visit_record(
            actor=self.request.user,
            student=self.student,
            visit=form.instance,
            other_visitors=form.cleaned_data["other_visitors"],
            policy_answers=form.policy_answers(),
            deliveries=form.deliveries(),
            photos=form.cleaned_data["photos"],
        )


class VisitUpdateView(VisitFormView):
    """The author edits for 7 days; afterwards an administrator corrects, with a reason."""

    permission = (CHANGE, HomeVisit)

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.visit = get_object_or_404(
                HomeVisit.objects.visible_to(request.user).select_related(
                    "student__household", "author"
                ),
                pk=kwargs["pk"],
            )
            self.student = self.visit.student
            permission = services.visit_edit_permission(request.user, self.visit)
            if permission is None:
                raise PermissionDenied
            self.correction = permission == "correction"
        return super().dispatch(request, *args, **kwargs)

    def save(self, form):
        return services.visit_update(
            actor=self.request.user,
            visit=form.instance,
            other_visitors=form.cleaned_data["other_visitors"],
            policy_answers=form.policy_answers(),
            deliveries=form.deliveries(),
            reason=form.cleaned_data.get("reason", ""),
            photos=form.cleaned_data["photos"],
        )


class VisitListView(StaffViewMixin, ExcelExportMixin, FilterView):
    permission = (VIEW, HomeVisit)

    filterset_class = VisitFilter
    template_name = "aid/visit_list.html"
    paginate_by = 50
    paginator_class = KeysFirstPaginator
    context_object_name = "visits"
    export_title = "家访记录"  # as its Chinese headers (VISIT_COLUMNS)
    # ID numbers, and authors by their login (a mobile phone number).
    export_list_name = "visits"
    export_carries_personal_data = True

    def export_columns(self):
        return VISIT_COLUMNS

    def export_rows(self, visits):
        return visit_export_rows(visits, self.request.user)

    def get_queryset(self):
        undelivered = PolicyCheck.objects.filter(visit=OuterRef("pk"), delivered=False)
        return (
            HomeVisit.objects.visible_to(self.request.user)
            .select_related("student__school__region", "author")
            .annotate(has_undelivered_policy=Exists(undelivered))
            .prefetch_related(
                Prefetch("other_visitors", queryset=get_user_model().objects.order_by("full_name"))
            )
        )


class VisitDetailView(StaffViewMixin, DetailView):
    permission = (VIEW, HomeVisit)

    template_name = "aid/visit_detail.html"
    context_object_name = "visit"

    def get_queryset(self):
        return HomeVisit.objects.visible_to(self.request.user).select_related(
            "student__school__region", "student__household__township", "author"
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        visit = self.object
        context.update(
            policy_checks=visit.policy_checks.select_related("program").order_by("program__name"),
            deliveries=visit.deliveries.select_related("item").order_by("item__name"),
            other_visitors=visit.other_visitors.order_by("full_name"),
            photos=visit.photos.select_related("uploaded_by"),
            edit_permission=services.visit_edit_permission(self.request.user, visit),
            # A teacher who only took part in the visit sees it, not the student's records.
            student_visible=Student.objects.visible_to(self.request.user)
            .filter(pk=visit.student_id)
            .exists(),
            history=history_entries(visit, self.request.user, more_changes=detail_changes),
            labels={
                field.name: field.verbose_name
                for field in (*HomeVisit._meta.fields, *HomeVisit._meta.many_to_many)
            },
        )
        return context


def detail_changes(older, newer):
    """Changes to who else came, the checklist and the items, between two history records
    (records made before the details were kept have none to compare)."""
    older, newer = older.details, newer.details
    if not (older and newer):
        return []
    labels = {
        "other_visitors": HomeVisit._meta.get_field("other_visitors").verbose_name,
        "policy_checks": _("Policy checklist"),
        "deliveries": _("Items delivered"),
    }
    changes = []
    for key, label in labels.items():
        old, new = details_text(key, older[key]), details_text(key, newer[key])
        if old != new:
            changes.append({"field": label, "old": old, "new": new})
    return changes


def details_text(key, values):
    """One kind of details as the visit page shows it: 李老师、赵老师 · 国家助学金：未落实（未到账） · 书包 2个."""
    if key == "other_visitors":
        parts = values
    elif key == "policy_checks":
        parts = [
            f"{program}：{_('Delivered')}" if delivered else f"{program}：{_('Not delivered')}（{reason}）"
            for program, delivered, reason in values
        ]
    else:
        parts = [f"{item} {quantity}{unit}" for item, quantity, unit in values]
    return "、".join(parts)


# ---------------------------------------------------------------------------------------
# Export: exactly the filtered rows, read in chunks with a fixed number of queries each
# ---------------------------------------------------------------------------------------

VISIT_COLUMNS = (
    ExportColumn("家访日期", 12),  # dates are written as dates (yyyy-mm-dd)
    ExportColumn("学生姓名", 10),
    ExportColumn("身份证号", 21),
    ExportColumn("学校", 26),
    ExportColumn("乡镇", 12),
    ExportColumn("家访方式", 9),
    ExportColumn("记录人", 10),
    ExportColumn("其他参与人员", 20),
    ExportColumn("辍学风险", 9),
    ExportColumn("未落实政策", 26),
    ExportColumn("发放物品", 20),
    ExportColumn("需要跟进", 9),
    ExportColumn("下次家访日期", 13),
)
VISIT_EXPORT_FIELDS = (
    "pk", "visited_on", "student__name", "student__id_number", "student__school__name",
    "student__school__region__name", "mode", "author__full_name", "author__username",
    "dropout_risk", "follow_up_needed", "next_visit_on",
)
EXPORT_CHUNK_SIZE = 2000


def visit_export_rows(visits, user):
    """Rows of the visit export: the visits with values_list, and per chunk of visits one
    query each for the other visitors, the policies not delivered and the items."""
    chunk = []
    for values in visits.values_list(*VISIT_EXPORT_FIELDS).iterator(chunk_size=EXPORT_CHUNK_SIZE):
        chunk.append(values)
        if len(chunk) == EXPORT_CHUNK_SIZE:
            yield from _export_chunk(chunk, user)
            chunk = []
    yield from _export_chunk(chunk, user)


def _export_chunk(chunk, user):
    if not chunk:
        return
    ids = [values[0] for values in chunk]
    visitors = _joined(
        (visit_id, full_name or username)
        for visit_id, full_name, username in HomeVisit.other_visitors.through.objects.filter(
            homevisit_id__in=ids
        )
        .order_by("user__full_name")
        .values_list("homevisit_id", "user__full_name", "user__username")
    )
    undelivered = _joined(
        PolicyCheck.objects.filter(visit_id__in=ids, delivered=False)
        .order_by("program__name")
        .values_list("visit_id", "program__name")
    )
    items = _joined(
        (visit_id, f"{name}{quantity}{unit}")
        for visit_id, name, quantity, unit in VisitDelivery.objects.filter(visit_id__in=ids)
        .order_by("item__name")
        .values_list("visit_id", "item__name", "quantity", "item__unit")
    )
    modes = dict(HomeVisit.Mode.choices)
    risks = dict(HomeVisit.Risk.choices)
    for (
        pk, visited_on, name, id_number, school, township, mode, author_name, author_login,
        risk, follow_up, next_visit_on,
    ) in chunk:
        yield (
            visited_on,
            name,
            id_number_for(user, id_number),
            school,
            township,
            str(modes.get(mode, mode)),
            author_name or author_login,
            visitors.get(pk, ""),
            str(risks.get(risk, risk)),
            undelivered.get(pk, ""),
            items.get(pk, ""),
            _("Yes") if follow_up else _("No"),
            next_visit_on,
        )


def _joined(pairs):
    """{visit id: "a、b"} from (visit id, text) pairs, in the order given."""
    texts = {}
    for visit_id, text in pairs:
        texts.setdefault(visit_id, []).append(text)
    return {visit_id: "、".join(values) for visit_id, values in texts.items()}


class VisitExportView(VisitListView):
    """The visit list's rows, exactly as filtered on the page, as .xlsx."""

    permission = (EXPORT, HomeVisit)
    always_exports = True

