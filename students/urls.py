from django.urls import path

from .views import distribution, registry

app_name = "students"

urlpatterns = [
    path("", registry.HomeView.as_view(), name="home"),
    path("students/", registry.StudentListView.as_view(), name="student_list"),
    path("students/create/", registry.StudentCreateView.as_view(), name="student_create"),
    path("students/<int:pk>/", registry.StudentDetailView.as_view(), name="student_detail"),
    path(
        "students/<int:pk>/update/", registry.StudentUpdateView.as_view(), name="student_update"
    ),
    path("students/<int:pk>/leave/", registry.StudentLeaveView.as_view(), name="student_leave"),
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
