"""The casework app's URLs under the `aid` namespace, each domain's from its own package."""
from aid.casework import urls as casework
from aid.dashboard import urls as dashboard
from aid.dropout import urls as dropout
from aid.reference import urls as reference
from aid.evidence import urls as evidence
from aid.subsidies import urls as subsidies
from aid.supervision import urls as supervision

app_name = "aid"

urlpatterns = [
    *dashboard.urlpatterns,
    *casework.urlpatterns,
    *subsidies.urlpatterns,
    *dropout.urlpatterns,
    *supervision.urlpatterns,
    *reference.urlpatterns,
    *evidence.urlpatterns,
]
