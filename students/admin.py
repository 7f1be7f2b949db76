"""The admin site, for IT staff: every registry model, with history where it is kept."""
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from .models import (
    ExportLog,
    Household,
    ImportedChange,
    Region,
    RosterImport,
    School,
    SnapshotAbsence,
    Student,
    User,
)


@admin.register(User)
class StaffAdmin(UserAdmin):
    list_display = ("username", "full_name", "role", "region", "school", "is_active", "is_staff")
    list_filter = ("role", "is_active", "is_staff", "is_superuser")
    search_fields = ("username", "full_name", "phone")
    autocomplete_fields = ("region", "school")
    fieldsets = UserAdmin.fieldsets + (
        (_("Role and scope"), {"fields": ("full_name", "phone", "role", "region", "school")}),
        (_("Login"), {"fields": ("must_change_password",)}),
    )
    add_fieldsets = UserAdmin.add_fieldsets + (
        (_("Role and scope"), {"fields": ("full_name", "phone", "role", "region", "school")}),
    )

    def save_model(self, request, obj, form, change):
        """An account IT opens gets a password IT chose: its user replaces it at the first login."""
        if not change:
            obj.must_change_password = True
        super().save_model(request, obj, form, change)


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "level", "parent")
    list_filter = ("level",)
    search_fields = ("code", "name")
    autocomplete_fields = ("parent",)


@admin.register(School)
class SchoolAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "region", "is_urban", "is_weak", "is_poor_village")
    list_filter = ("is_urban", "is_weak", "is_poor_village")
    search_fields = ("name", "code")
    autocomplete_fields = ("region",)


@admin.register(Household)
class HouseholdAdmin(SimpleHistoryAdmin):
    list_display = ("head_name", "registration_number", "township", "village", "category")
    list_filter = ("category", "poverty_cause")
    search_fields = ("head_name", "registration_number", "village")
    autocomplete_fields = ("township",)


@admin.register(Student)
class StudentAdmin(SimpleHistoryAdmin):
    list_display = ("name", "id_number", "school", "stage", "grade", "status", "left_roster_on")
    list_filter = ("stage", "status", "left_roster_reason")
    search_fields = ("name", "id_number", "student_number")
    autocomplete_fields = ("school", "household")
    readonly_fields = ("gender", "birth_date", "created_at", "updated_at")

    def has_delete_permission(self, request, obj=None):
        """Students are never deleted: they leave the roster with a reason."""
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records the app writes itself (imports, the export log): IT staff read them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ImportedChangeInline(admin.TabularInline):
    model = ImportedChange
    extra = 0
    can_delete = False
    fields = ("row_number", "action", "student", "household", "household_created")
    readonly_fields = fields


@admin.register(RosterImport)
class RosterImportAdmin(ReadOnlyAdmin):
    list_display = ("file_name", "uploaded_by", "uploaded_at", "state", "created_count", "updated_count", "error_count")
    list_filter = ("state", "is_snapshot")
    exclude = ("content",)
    inlines = [ImportedChangeInline]


@admin.register(SnapshotAbsence)
class SnapshotAbsenceAdmin(ReadOnlyAdmin):
    list_display = ("student", "roster_import", "checked_at", "checked_by", "note")


@admin.register(ExportLog)
class ExportLogAdmin(ReadOnlyAdmin):
    list_display = ("exported_at", "user", "list_name", "row_count", "query")
    list_filter = ("list_name",)

    def has_delete_permission(self, request, obj=None):
        """The log is append-only (the database refuses it too); the retention command
        removes the rows past the retention period."""
        return False
