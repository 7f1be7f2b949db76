"""The admin site, for IT staff only: counties edit their reference lists in the app's
pages (aid.reference.views), where each sees only its own."""
from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from aid.casework.models import (
    ExchangeActivity,
    HomeVisit,
    Pairing,
    PolicyCheck,
    SchoolPairing,
    VisitDelivery,
)
from aid.dropout.models import CaseResponsible, DropoutCase, PersuasionAttempt
from aid.reference.models import (
    AidProgram,
    ChecklistItem,
    DeliveryItem,
    ProgramStandard,
    Term,
)
from aid.subsidies.models import (
    BatchTransition,
    DisbursementBatch,
    DisbursementLine,
    PrecisionResolution,
    SchoolConfirmation,
)
from aid.supervision.models import (
    ChecklistAnswer,
    GridGroup,
    GridTownship,
    Inspection,
    Rectification,
    SchoolProject,
)


class ITStaffOnlyAdmin(admin.ModelAdmin):
    """Reference lists: a county administrator with admin access would reach every county's."""

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(Term)
class TermAdmin(ITStaffOnlyAdmin):
    list_display = ("name", "starts_on", "ends_on")


class ProgramStandardInline(admin.TabularInline):
    model = ProgramStandard
    extra = 1


@admin.register(AidProgram)
class AidProgramAdmin(ITStaffOnlyAdmin):
    list_display = ("name", "region", "kind", "funding_source", "requires_enrolment", "boarders_only", "is_active")
    list_filter = ("region", "kind", "funding_source", "is_active")
    search_fields = ("name",)
    filter_horizontal = ("schools",)
    inlines = [ProgramStandardInline]


@admin.register(DeliveryItem)
class DeliveryItemAdmin(ITStaffOnlyAdmin):
    list_display = ("name", "unit", "is_active")


@admin.register(Pairing)
class PairingAdmin(admin.ModelAdmin):
    list_display = ("student", "teacher", "started_on", "ended_on")
    search_fields = ("student__name", "teacher__full_name")
    autocomplete_fields = ("student", "teacher", "created_by", "ended_by")


class PolicyCheckInline(admin.TabularInline):
    model = PolicyCheck
    extra = 0


class VisitDeliveryInline(admin.TabularInline):
    model = VisitDelivery
    extra = 0


@admin.register(HomeVisit)
class HomeVisitAdmin(SimpleHistoryAdmin):
    list_display = ("student", "visited_on", "mode", "author", "dropout_risk")
    list_filter = ("mode", "dropout_risk")
    search_fields = ("student__name",)
    autocomplete_fields = ("student", "author", "other_visitors")
    inlines = [PolicyCheckInline, VisitDeliveryInline]


class ExchangeActivityInline(admin.TabularInline):
    model = ExchangeActivity
    extra = 0
    autocomplete_fields = ("recorded_by",)


@admin.register(SchoolPairing)
class SchoolPairingAdmin(admin.ModelAdmin):
    list_display = ("lead_school", "started_on", "ended_on")
    autocomplete_fields = ("lead_school", "supported_schools")
    inlines = [ExchangeActivityInline]


@admin.register(ProgramStandard)
class ProgramStandardAdmin(ITStaffOnlyAdmin):
    list_display = ("program", "stage", "amount")
    list_filter = ("stage",)


class LineInline(admin.TabularInline):
    model = DisbursementLine
    extra = 0
    fields = ("student", "school", "stage", "amount", "status")
    readonly_fields = fields
    can_delete = False
    show_change_link = True


class BatchTransitionInline(admin.TabularInline):
    model = BatchTransition
    extra = 0
    can_delete = False
    readonly_fields = ("from_state", "to_state", "by", "at", "note")


class SchoolConfirmationInline(admin.TabularInline):
    model = SchoolConfirmation
    extra = 0
    can_delete = False
    readonly_fields = ("school", "confirmed_by", "confirmed_at")


@admin.register(DisbursementBatch)
class DisbursementBatchAdmin(admin.ModelAdmin):
    """Read only: batches change through their pages, which keep the four-eyes rule."""

    list_display = ("program", "term", "region", "state", "prepared_by", "approved_by")
    list_filter = ("state", "term", "program")
    inlines = [BatchTransitionInline, SchoolConfirmationInline]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(DisbursementLine)
class DisbursementLineAdmin(SimpleHistoryAdmin):
    list_display = ("student", "program", "term", "amount", "status", "paid_on")
    list_filter = ("status", "term", "program")
    search_fields = ("student__name", "student__id_number")
    autocomplete_fields = ("student",)

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(PrecisionResolution)
class PrecisionResolutionAdmin(admin.ModelAdmin):
    list_display = ("student", "program", "term", "kind", "resolved_by", "resolved_at")
    list_filter = ("kind", "term")


class CaseResponsibleInline(admin.TabularInline):
    model = CaseResponsible
    extra = 0


class PersuasionAttemptInline(admin.TabularInline):
    model = PersuasionAttempt
    extra = 0


@admin.register(DropoutCase)
class DropoutCaseAdmin(admin.ModelAdmin):
    list_display = ("student", "kind", "trigger", "opened_on", "closed_on", "outcome")
    list_filter = ("kind", "trigger", "outcome")
    search_fields = ("student__name",)
    autocomplete_fields = ("student",)
    inlines = [CaseResponsibleInline, PersuasionAttemptInline]


class GridTownshipInline(admin.TabularInline):
    model = GridTownship
    autocomplete_fields = ("region",)
    extra = 1


@admin.register(GridGroup)
class GridGroupAdmin(admin.ModelAdmin):
    list_display = ("name", "region", "leader")
    filter_horizontal = ("members",)
    inlines = (GridTownshipInline,)


@admin.register(ChecklistItem)
class ChecklistItemAdmin(ITStaffOnlyAdmin):
    """The bureau's inspection checklist."""

    list_display = ("text", "position", "is_active")
    list_editable = ("position", "is_active")


class ChecklistAnswerInline(admin.TabularInline):
    model = ChecklistAnswer
    extra = 0


class RectificationInline(admin.TabularInline):
    model = Rectification
    extra = 0


@admin.register(Inspection)
class InspectionAdmin(admin.ModelAdmin):
    list_display = ("school", "grid", "inspected_on")
    list_filter = ("grid",)
    inlines = [ChecklistAnswerInline, RectificationInline]


@admin.register(Rectification)
class RectificationAdmin(SimpleHistoryAdmin):
    list_display = ("school", "deadline", "status")
    list_filter = ("status",)


@admin.register(SchoolProject)
class SchoolProjectAdmin(admin.ModelAdmin):
    list_display = ("name", "school", "type", "investment", "status")
    list_filter = ("type", "status")
