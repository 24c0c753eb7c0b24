from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from annotation import api as annotation_api
from annotation import review_api
from defect_platform.core import api as core_api
from defect_platform.core import audit_log_api, service_tokens_api, webhooks_api
from inspection import api as inspection_api
from inspection import audit_api, camera_api, challenger_api, fused_api, station_api
from training import api as training_api

router = DefaultRouter()
router.register("projects", core_api.ProjectViewSet, basename="project")
router.register(
    r"projects/(?P<project_pk>\d+)/members", core_api.MembershipViewSet, basename="membership"
)

urlpatterns = [
    path("auth/token/", core_api.TokenView.as_view(), name="api-token"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path(
        "projects/<int:project_pk>/images/",
        annotation_api.ProjectImagesView.as_view(),
        name="api-project-images",
    ),
    path(
        "projects/<int:project_pk>/imports/",
        annotation_api.ProjectImportView.as_view(),
        name="api-project-import",
    ),
    path("imports/<int:pk>/", annotation_api.ImportJobDetailView.as_view(), name="api-import"),
    path(
        "projects/<int:project_pk>/export/",
        annotation_api.ProjectExportView.as_view(),
        name="api-project-export",
    ),
    path(
        "projects/<int:project_pk>/agreement/",
        annotation_api.ProjectAgreementView.as_view(),
        name="api-project-agreement",
    ),
    path(
        "images/<int:pk>/agreement/",
        annotation_api.ImageAgreementView.as_view(),
        name="api-image-agreement",
    ),
    path(
        "images/<int:pk>/disagreement/",
        annotation_api.ImageDisagreementView.as_view(),
        name="api-image-disagreement",
    ),
    path(
        "projects/<int:project_pk>/queue/",
        review_api.ProjectQueueView.as_view(),
        name="api-project-queue",
    ),
    path(
        "projects/<int:project_pk>/review-queue/",
        review_api.ProjectReviewQueueView.as_view(),
        name="api-project-review-queue",
    ),
    path(
        "projects/<int:project_pk>/prelabels/",
        review_api.ProjectPreLabelsView.as_view(),
        name="api-project-prelabels",
    ),
    path("labels/<int:pk>/submit/", review_api.LabelSubmitView.as_view(), name="api-label-submit"),
    path("labels/<int:pk>/review/", review_api.LabelReviewView.as_view(), name="api-label-review"),
    path(
        "labels/<int:pk>/reviews/", review_api.LabelReviewsView.as_view(), name="api-label-reviews"
    ),
    path(
        "images/<int:pk>/prelabel/",
        review_api.ImagePreLabelView.as_view(),
        name="api-image-prelabel",
    ),
    path(
        "images/<int:pk>/prelabel/mask/",
        review_api.ImagePreLabelMaskView.as_view(),
        name="api-image-prelabel-mask",
    ),
    path(
        "projects/<int:project_pk>/webhooks/",
        webhooks_api.ProjectWebhooksView.as_view(),
        name="api-project-webhooks",
    ),
    path("webhooks/<int:pk>/", webhooks_api.WebhookDetailView.as_view(), name="api-webhook"),
    path(
        "webhooks/<int:pk>/deliveries/",
        webhooks_api.WebhookDeliveriesView.as_view(),
        name="api-webhook-deliveries",
    ),
    path(
        "models/<int:pk>/shadow/", challenger_api.ModelShadowView.as_view(), name="api-model-shadow"
    ),
    path(
        "models/<int:pk>/replays/",
        challenger_api.ModelReplaysView.as_view(),
        name="api-model-replays",
    ),
    path("replays/<int:pk>/", challenger_api.ReplayDetailView.as_view(), name="api-replay"),
    path(
        "stations/<int:pk>/cameras/",
        camera_api.StationCamerasView.as_view(),
        name="api-station-cameras",
    ),
    path(
        "stations/<int:pk>/thresholds/",
        camera_api.StationThresholdsView.as_view(),
        name="api-station-thresholds",
    ),
    path(
        "stations/<int:pk>/cameras/<str:camera>/probe/",
        camera_api.CameraProbeView.as_view(),
        name="api-camera-probe",
    ),
    path(
        "stations/<int:pk>/fused-models/",
        fused_api.StationFusedModelsView.as_view(),
        name="api-station-fused-models",
    ),
    path(
        "stations/<int:pk>/fused-models/select/",
        fused_api.StationFusedSelectView.as_view(),
        name="api-station-fused-select",
    ),
    path(
        "projects/<int:project_pk>/challenger/",
        challenger_api.ProjectChallengerView.as_view(),
        name="api-project-challenger",
    ),
    path("images/<int:pk>/", annotation_api.ImageDetailView.as_view(), name="api-image"),
    path("images/<int:pk>/file/", annotation_api.ImageFileView.as_view(), name="api-image-file"),
    path(
        "images/<int:pk>/labels/", annotation_api.ImageLabelsView.as_view(), name="api-image-labels"
    ),
    path(
        "label-versions/<int:pk>/",
        annotation_api.LabelVersionDetailView.as_view(),
        name="api-label-version",
    ),
    path(
        "label-versions/<int:pk>/mask/",
        annotation_api.LabelVersionMaskView.as_view(),
        name="api-label-version-mask",
    ),
    path(
        "projects/<int:project_pk>/jobs/",
        training_api.ProjectJobsView.as_view(),
        name="api-project-jobs",
    ),
    path("jobs/<int:pk>/", training_api.JobDetailView.as_view(), name="api-job"),
    path("jobs/<int:pk>/cancel/", training_api.JobCancelView.as_view(), name="api-job-cancel"),
    path(
        "projects/<int:project_pk>/models/",
        training_api.ProjectModelsView.as_view(),
        name="api-project-models",
    ),
    path(
        "projects/<int:project_pk>/models/rollback/",
        training_api.ProjectRollbackView.as_view(),
        name="api-project-rollback",
    ),
    path(
        "projects/<int:project_pk>/promotions/",
        training_api.ProjectPromotionsView.as_view(),
        name="api-project-promotions",
    ),
    path("models/compare/", training_api.ModelCompareView.as_view(), name="api-model-compare"),
    path("models/<int:pk>/", training_api.ModelDetailView.as_view(), name="api-model"),
    path(
        "models/<int:pk>/predict/<int:image_pk>/",
        training_api.ModelPredictionView.as_view(),
        name="api-model-predict",
    ),
    path(
        "models/<int:pk>/promote/",
        training_api.ModelPromoteView.as_view(),
        name="api-model-promote",
    ),
    path("audit-log/", audit_log_api.AuditLogView.as_view(), name="api-audit-log"),
    path(
        "projects/<int:project_pk>/service-tokens/",
        service_tokens_api.ProjectServiceTokensView.as_view(),
        name="api-project-service-tokens",
    ),
    path(
        "service-tokens/<int:pk>/",
        service_tokens_api.ServiceTokenView.as_view(),
        name="api-service-token",
    ),
    path("inspect/", inspection_api.InspectView.as_view(), name="api-inspect"),
    path("stations/", inspection_api.StationListView.as_view(), name="api-stations"),
    path("placement/", inspection_api.PlacementView.as_view(), name="api-placement"),
    path("stations/<int:pk>/", inspection_api.StationDetailView.as_view(), name="api-station"),
    path(
        "stations/<int:pk>/start/",
        station_api.StationStateView.as_view(active=True),
        name="api-station-start",
    ),
    path(
        "stations/<int:pk>/stop/",
        station_api.StationStateView.as_view(active=False),
        name="api-station-stop",
    ),
    path(
        "stations/<int:pk>/trigger/",
        inspection_api.StationTriggerView.as_view(),
        name="api-station-trigger",
    ),
    path(
        "stations/<int:pk>/cameras/<str:camera>/reference/",
        inspection_api.CameraReferenceView.as_view(),
        name="api-camera-reference",
    ),
    path("records/", inspection_api.RecordListView.as_view(), name="api-records"),
    path("records/<int:pk>/", inspection_api.RecordDetailView.as_view(), name="api-record"),
    path(
        "records/<int:pk>/views/<int:view_pk>/",
        inspection_api.RecordViewImageView.as_view(),
        name="api-record-view",
    ),
    path(
        "records/<int:pk>/decisions/",
        inspection_api.RecordDecisionsView.as_view(),
        name="api-record-decisions",
    ),
    path("review-queue/", inspection_api.ReviewQueueView.as_view(), name="api-review-queue"),
    path(
        "projects/<int:project_pk>/audit/",
        inspection_api.ProjectAuditView.as_view(),
        name="api-project-audit",
    ),
    path(
        "projects/<int:project_pk>/audit/trends/",
        audit_api.ProjectAuditTrendsView.as_view(),
        name="api-project-audit-trends",
    ),
    path(
        "projects/<int:project_pk>/audit/disagreements/",
        audit_api.ProjectDisagreementsView.as_view(),
        name="api-project-audit-disagreements",
    ),
    path(
        "projects/<int:project_pk>/audit/send-to-labeling/",
        audit_api.SendToLabelingView.as_view(),
        name="api-project-audit-send-to-labeling",
    ),
    path(
        "projects/<int:project_pk>/audit/reports/",
        audit_api.ProjectAuditReportView.as_view(),
        name="api-project-audit-reports",
    ),
    path(
        "projects/<int:project_pk>/audit/ties/",
        audit_api.ProjectAuditTiesView.as_view(),
        name="api-project-audit-ties",
    ),
    path(
        "projects/<int:project_pk>/diagnosis/",
        audit_api.ProjectDiagnosisView.as_view(),
        name="api-project-diagnosis",
    ),
    path(
        "projects/<int:project_pk>/prevalence/",
        audit_api.ProjectPrevalenceView.as_view(),
        name="api-project-prevalence",
    ),
    path(
        "records/<int:pk>/masks/<int:mask_pk>/",
        inspection_api.RecordMaskView.as_view(),
        name="api-record-mask",
    ),
    path("", include(router.urls)),
]
