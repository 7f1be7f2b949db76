from django.urls import path

from .views import distribution, exports, imports, registry

app_name = "students"

urlpatterns = [
    path("students/", registry.StudentListView.as_view(), name="student_list"),
    path("students/create/", registry.StudentCreateView.as_view(), name="student_create"),
    path("students/<int:pk>/", registry.StudentDetailView.as_view(), name="student_detail"),
    path(
        "students/<int:pk>/update/", registry.StudentUpdateView.as_view(), name="student_update"
    ),
    path("students/<int:pk>/leave/", registry.StudentLeaveView.as_view(), name="student_leave"),
    path("students/export/", exports.StudentExportView.as_view(), name="student_export"),
    path("students/print/", registry.StudentPrintView.as_view(), name="student_print"),
    path("students/import/", imports.RosterImportView.as_view(), name="roster_import"),
    path(
        "students/import/template/", imports.RosterTemplateView.as_view(), name="roster_template"
    ),
    path(
        "students/import/<int:pk>/",
        imports.RosterImportDetailView.as_view(),
        name="roster_import_detail",
    ),
    path(
        "students/import/<int:pk>/mapping/",
        imports.RosterImportMappingView.as_view(),
        name="roster_import_mapping",
    ),
    path(
        "students/import/<int:pk>/apply/",
        imports.RosterImportApplyView.as_view(),
        name="roster_import_apply",
    ),
    path(
        "students/import/<int:pk>/revert/",
        imports.RosterImportRevertView.as_view(),
        name="roster_import_revert",
    ),
    path(
        "students/import/<int:pk>/report/",
        imports.RosterImportReportView.as_view(),
        name="roster_import_report",
    ),
    path(
        "students/import/<int:pk>/absences/<int:absence_pk>/",
        imports.AbsenceCheckView.as_view(),
        name="snapshot_absence_check",
    ),
    path("exports/log/", exports.ExportLogView.as_view(), name="export_log"),
    path("schools/", registry.SchoolListView.as_view(), name="school_list"),
    path("schools/<int:pk>/", registry.SchoolDetailView.as_view(), name="school_detail"),
    path(
        "households/<int:pk>/", registry.HouseholdDetailView.as_view(), name="household_detail"
    ),
    path("distribution/", distribution.DistributionView.as_view(), name="distribution"),
    path(
        "distribution/export/",
        distribution.DistributionExportView.as_view(),
        name="distribution_export",
    ),
]
