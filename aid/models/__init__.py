"""The models Django sees for the app label `aid`, each defined in its domain's package."""
from aid.casework.models import (  # noqa: F401
    VISIT_EDIT_WINDOW,
    ExchangeActivity,
    HomeVisit,
    HomeVisitQuerySet,
    Pairing,
    PairingQuerySet,
    PolicyCheck,
    SchoolPairing,
    SchoolPairingQuerySet,
    VisitDelivery,
    VisitDetailsHistory,
)
from aid.casework.tallies import RosterTally, TeacherTally, VisitTally  # noqa: F401
from aid.dropout.models import (  # noqa: F401
    CaseResponsible,
    DropoutCase,
    DropoutCaseQuerySet,
    PersuasionAttempt,
)
from aid.evidence.models import Attachment, AttachmentQuerySet  # noqa: F401
from aid.reference.models import (  # noqa: F401
    AidProgram,
    ChecklistItem,
    DeliveryItem,
    ProgramStandard,
    Term,
    TermQuerySet,
    field_value,
    programs_applying_to,
)
from aid.subsidies.models import (  # noqa: F401
    BatchQuerySet,
    BatchTransition,
    DisbursementBatch,
    DisbursementLine,
    LineQuerySet,
    PaymentMethod,
    PrecisionResolution,
    SchoolConfirmation,
)
from aid.subsidies.tallies import EligibilityTally, LineTally, StudentFactsTally  # noqa: F401
from aid.supervision.models import (  # noqa: F401
    ChecklistAnswer,
    GridGroup,
    GridGroupQuerySet,
    GridTownship,
    Inspection,
    InspectionQuerySet,
    Rectification,
    RectificationQuerySet,
    SchoolProject,
    SchoolProjectQuerySet,
)
