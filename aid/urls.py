from django.urls import path

from .views import batches, cases, coverage, dashboard, pairings, schools, supervision, visits

app_name = "aid"

urlpatterns = [
    path("summary/export/", dashboard.SummaryExportView.as_view(), name="summary_export"),
    # Home visits (visits.py)
    path("my-students/", visits.MyStudentsView.as_view(), name="my_students"),
    path("visits/", visits.VisitListView.as_view(), name="visit_list"),
    path("visits/export/", visits.VisitExportView.as_view(), name="visit_export"),
    path("visits/<int:pk>/", visits.VisitDetailView.as_view(), name="visit_detail"),
    path("visits/<int:pk>/update/", visits.VisitUpdateView.as_view(), name="visit_update"),
    path(
        "students/<int:student_pk>/visits/create/",
        visits.VisitCreateView.as_view(),
        name="visit_create",
    ),
    # Pairings and teachers (pairings.py)
    path(
        "students/<int:student_pk>/pairing/",
        pairings.PairingAssignView.as_view(),
        name="pairing_assign",
    ),
    path("pairings/<int:pk>/end/", pairings.PairingEndView.as_view(), name="pairing_end"),
    path("unpaired/", pairings.UnpairedListView.as_view(), name="unpaired"),
    path("reassignment/", pairings.ReassignmentListView.as_view(), name="reassignment"),
    path("teachers/", pairings.TeacherListView.as_view(), name="teacher_list"),
    path("teachers/create/", pairings.TeacherCreateView.as_view(), name="teacher_create"),
    path("teachers/import/", pairings.TeacherImportView.as_view(), name="teacher_import"),
    # Visit coverage (coverage.py)
    path("coverage/", coverage.CoverageView.as_view(), name="coverage"),
    path("coverage/unvisited/", coverage.UnvisitedListView.as_view(), name="unvisited"),
    # School pairings (schools.py)
    path("school-pairings/", schools.SchoolPairingListView.as_view(), name="school_pairing_list"),
    path(
        "school-pairings/create/",
        schools.SchoolPairingCreateView.as_view(),
        name="school_pairing_create",
    ),
    path(
        "school-pairings/<int:pk>/",
        schools.SchoolPairingDetailView.as_view(),
        name="school_pairing_detail",
    ),
    path(
        "school-pairings/<int:pk>/activities/create/",
        schools.ActivityCreateView.as_view(),
        name="activity_create",
    ),
    # Subsidies (batches.py)
    path("batches/", batches.BatchListView.as_view(), name="batch_list"),
    path("batches/create/", batches.BatchCreateView.as_view(), name="batch_create"),
    path("batches/summary/", batches.SummaryExportView.as_view(), name="batch_summary_export"),
    path("batches/<int:pk>/", batches.BatchDetailView.as_view(), name="batch_detail"),
    path("batches/<int:pk>/move/", batches.BatchMoveView.as_view(), name="batch_move"),
    path("batches/<int:pk>/confirm/", batches.SchoolConfirmView.as_view(), name="batch_confirm"),
    path("batches/<int:pk>/lines/add/", batches.LineAddView.as_view(), name="line_add"),
    path("batches/<int:pk>/roster/", batches.RosterExportView.as_view(), name="batch_roster_export"),
    path("lines/<int:pk>/", batches.LineUpdateView.as_view(), name="line_update"),
    path("precision/", batches.PrecisionView.as_view(), name="precision"),
    path("precision/export/", batches.PrecisionExportView.as_view(), name="precision_export"),
    path("precision/resolve/", batches.FindingResolveView.as_view(), name="finding_resolve"),
    # Dropout control (cases.py)
    path("cases/", cases.CaseListView.as_view(), name="case_list"),
    path("cases/export/", cases.CaseExportView.as_view(), name="case_export"),
    path("cases/<int:pk>/", cases.CaseDetailView.as_view(), name="case_detail"),
    path("cases/<int:pk>/close/", cases.CaseCloseView.as_view(), name="case_close"),
    path("cases/<int:pk>/attempts/", cases.CaseAttemptView.as_view(), name="case_attempt"),
    path("cases/<int:pk>/responsibles/", cases.CaseResponsibleView.as_view(), name="case_responsible"),
    path("students/<int:student_pk>/cases/create/", cases.CaseCreateView.as_view(), name="case_create"),
    path("ledgers/", cases.LedgerView.as_view(), name="ledger"),
    path("ledgers/export/", cases.LedgerExportView.as_view(), name="ledger_export"),
    # Grid supervision and projects (supervision.py)
    path("grids/", supervision.GridListView.as_view(), name="grid_list"),
    path("grids/create/", supervision.GridCreateView.as_view(), name="grid_create"),
    path("grids/<int:pk>/", supervision.GridDetailView.as_view(), name="grid_detail"),
    path("grids/<int:pk>/update/", supervision.GridUpdateView.as_view(), name="grid_update"),
    path("inspections/", supervision.InspectionListView.as_view(), name="inspection_list"),
    path(
        "inspections/create/",
        supervision.InspectionCreateView.as_view(),
        name="inspection_create",
    ),
    path(
        "inspections/<int:pk>/",
        supervision.InspectionDetailView.as_view(),
        name="inspection_detail",
    ),
    path(
        "rectifications/",
        supervision.RectificationListView.as_view(),
        name="rectification_list",
    ),
    path(
        "rectifications/<int:pk>/",
        supervision.RectificationUpdateView.as_view(),
        name="rectification_update",
    ),
    path("projects/", supervision.ProjectListView.as_view(), name="project_list"),
    path("projects/create/", supervision.ProjectCreateView.as_view(), name="project_create"),
    path("projects/export/", supervision.ProjectExportView.as_view(), name="project_export"),
    path(
        "projects/<int:pk>/update/",
        supervision.ProjectUpdateView.as_view(),
        name="project_update",
    ),
]
