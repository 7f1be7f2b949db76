from django.urls import path

from .views import coverage, pairings, schools, visits

urlpatterns = [
    # Home visits
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
    # Pairings and teachers
    path(
        "students/<int:student_pk>/pairing/",
        pairings.PairingAssignView.as_view(),
        name="pairing_assign",
    ),
    path("pairings/<int:pk>/end/", pairings.PairingEndView.as_view(), name="pairing_end"),
    path("unpaired/", pairings.UnpairedListView.as_view(), name="unpaired"),
    path("reassignment/", pairings.ReassignmentListView.as_view(), name="reassignment"),
    path("pairings/selected/", pairings.PairSelectedView.as_view(), name="pair_selected"),
    path("teachers/", pairings.TeacherListView.as_view(), name="teacher_list"),
    path("teachers/create/", pairings.TeacherCreateView.as_view(), name="teacher_create"),
    path("teachers/login-slips/", pairings.TeacherSlipsView.as_view(), name="teacher_slips"),
    path("teachers/import/", pairings.TeacherImportView.as_view(), name="teacher_import"),
    # Visit coverage
    path("coverage/", coverage.CoverageView.as_view(), name="coverage"),
    path("coverage/unvisited/", coverage.UnvisitedListView.as_view(), name="unvisited"),
    # School pairings
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
]
