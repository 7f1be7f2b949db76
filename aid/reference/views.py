"""The reference lists' pages: a list with filters and an edit page for each of aid
programs (with their standard amounts), delivery items and inspection checklist points.

Everyone allowed sees the shared entries and those of their county; the edit links and
pages exist only for the entries `editable_by(user)`: a county's own for its bureau
administrators, every entry for IT staff. Another county's entry is a 404."""
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView
from django_filters.views import FilterView

from aid.reference import services
from aid.reference.filters import ChecklistItemFilter, DeliveryItemFilter, ProgramFilter
from aid.reference.forms import ChecklistItemForm, DeliveryItemForm, ProgramForm
from aid.reference.models import AidProgram, ChecklistItem, DeliveryItem
from students.permissions import ADD, CHANGE, VIEW
from students.views.base import StaffViewMixin


class ReferenceListView(StaffViewMixin, FilterView):
    template_name = "aid/reference_list.html"
    paginate_by = 50
    columns = ()  # (label, function of an entry)

    def get_queryset(self):
        return self.model.objects.visible_to(self.request.user).select_related("region")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        entries = context["object_list"]
        editable = set(self.model.objects.editable_by(user).filter(pk__in=[e.pk for e in entries]).values_list("pk", flat=True))
        context.update(
            title=self.title,
            create_url=self.create_url,
            update_url=self.update_url,
            headers=[label for label, _value in self.columns],
            rows=[
                (entry, [(label, value(entry)) for label, value in self.columns], entry.pk in editable)
                for entry in entries
            ],
        )
        return context


def county_of(entry):
    return entry.region.name if entry.region_id else _("Shared by the province")


def yes_no(value):
    return _("yes") if value else _("no")


class ProgramListView(ReferenceListView):
    permission = (VIEW, AidProgram)
    model = AidProgram
    filterset_class = ProgramFilter
    title = gettext_lazy("Aid programs")
    create_url, update_url = "aid:program_create", "aid:program_update"
    columns = (
        (gettext_lazy("Name"), lambda p: p.name),
        (gettext_lazy("County"), county_of),
        (gettext_lazy("Kind"), lambda p: p.get_kind_display()),
        (gettext_lazy("Standard amounts"), lambda p: "、".join(str(s) for s in p.standards.all()) or "—"),
        (gettext_lazy("Active"), lambda p: yes_no(p.is_active)),
    )

    def get_queryset(self):
        return super().get_queryset().prefetch_related("standards__program")


class DeliveryItemListView(ReferenceListView):
    permission = (VIEW, DeliveryItem)
    model = DeliveryItem
    filterset_class = DeliveryItemFilter
    title = gettext_lazy("Delivery items")
    create_url, update_url = "aid:delivery_item_create", "aid:delivery_item_update"
    columns = (
        (gettext_lazy("Name"), lambda item: item.name),
        (gettext_lazy("County"), county_of),
        (gettext_lazy("Unit"), lambda item: item.unit),
        (gettext_lazy("Active"), lambda item: yes_no(item.is_active)),
    )


class ChecklistItemListView(ReferenceListView):
    permission = (VIEW, ChecklistItem)
    model = ChecklistItem
    filterset_class = ChecklistItemFilter
    title = gettext_lazy("Inspection checklist")
    create_url, update_url = "aid:checklist_item_create", "aid:checklist_item_update"
    columns = (
        (gettext_lazy("Item"), lambda item: item.text),
        (gettext_lazy("County"), county_of),
        (gettext_lazy("Position"), lambda item: item.position),
        (gettext_lazy("Active"), lambda item: yes_no(item.is_active)),
    )


class ReferenceEditView(StaffViewMixin, TemplateView):
    """Create (no pk) or change an entry the user may edit."""

    template_name = "aid/reference_form.html"

    def entry(self):
        if "pk" not in self.kwargs:
            return self.model()
        return get_object_or_404(self.model.objects.editable_by(self.request.user), pk=self.kwargs["pk"])

    def render_form(self, form, status=200):
        context = self.get_context_data(form=form, title=self.title, list_url=self.list_url, entry=form.instance)
        return self.render_to_response(context, status=status)

    def get(self, request, *args, **kwargs):
        return self.render_form(self.form_class(instance=self.entry(), user=request.user))

    def post(self, request, *args, **kwargs):
        form = self.form_class(request.POST, instance=self.entry(), user=request.user)
        if form.is_valid():
            try:
                self.save(form)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("Saved."))
                return redirect(self.list_url)
        return self.render_form(form, status=400)

    def save(self, form):
        services.reference_save(actor=self.request.user, instance=form.save(commit=False))


class ProgramEditView(ReferenceEditView):
    model, form_class, list_url = AidProgram, ProgramForm, "aid:program_list"
    title = gettext_lazy("Aid program")

    def save(self, form):
        services.program_save(
            actor=self.request.user, program=form.save(commit=False),
            schools=list(form.cleaned_data["schools"]), standards=form.standards(),
        )


class ProgramCreateView(ProgramEditView):
    permission = (ADD, AidProgram)


class ProgramUpdateView(ProgramEditView):
    permission = (CHANGE, AidProgram)


class DeliveryItemEditView(ReferenceEditView):
    model, form_class, list_url = DeliveryItem, DeliveryItemForm, "aid:delivery_item_list"
    title = gettext_lazy("Delivery item")


class DeliveryItemCreateView(DeliveryItemEditView):
    permission = (ADD, DeliveryItem)


class DeliveryItemUpdateView(DeliveryItemEditView):
    permission = (CHANGE, DeliveryItem)


class ChecklistItemEditView(ReferenceEditView):
    model, form_class, list_url = ChecklistItem, ChecklistItemForm, "aid:checklist_item_list"
    title = gettext_lazy("Inspection checklist item")


class ChecklistItemCreateView(ChecklistItemEditView):
    permission = (ADD, ChecklistItem)


class ChecklistItemUpdateView(ChecklistItemEditView):
    permission = (CHANGE, ChecklistItem)
