from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from defect_platform.core import health
from frontend import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("projects/", views.project_list, name="projects"),
    path("projects/<int:pk>/", views.project_detail, name="project"),
    path("projects/<int:pk>/compare/", views.compare_models, name="compare-models"),
    path("projects/<int:pk>/import/", views.project_import, name="project-import"),
    path("projects/<int:pk>/agreement/", views.project_agreement, name="project-agreement"),
    path("images/<int:pk>/label/", views.label_image, name="label-image"),
    path("jobs/<int:pk>/", views.job_detail, name="job"),
    path("live/", views.station_list, name="live"),
    path("live/<int:pk>/", views.station_live, name="station-live"),
    path("live/<int:pk>/setup/", views.station_setup, name="station-setup"),
    path("live/placement/", views.placement, name="placement"),
    path("audit/", views.audit, name="audit"),
    path("audit/report/", views.audit_report, name="audit-report"),
    path("records/", views.record_list, name="records"),
    path("records/<int:pk>/", views.record_detail, name="record"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.prometheus_metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/", include("defect_platform.api_urls")),
]

handler404 = "defect_platform.core.api_errors.not_found"
handler500 = "defect_platform.core.api_errors.server_error"
