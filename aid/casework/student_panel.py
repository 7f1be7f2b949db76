"""The casework panel of the student page, which the registry shows through its hook
(`students.hooks.add_student_panel`, registered in `AidConfig.ready`)."""
from django.db.models import Q, Sum

from aid.casework import services
from aid.casework.models import HomeVisit
from aid.dropout import services as dropout
from aid.dropout.models import DropoutCase
from aid.subsidies.models import DisbursementLine


def casework_panel(student, user):
    """The student page's casework: pairings (current and past), recent visits, dropout
    cases and the aid received, with what the user may start from there."""
    pairings = list(student.pairings.select_related("teacher", "created_by", "ended_by"))
    return {
        "student_panel_templates": ["aid/student_casework.html"],
        "current_pairing": next((p for p in pairings if p.is_active), None),
        "past_pairings": [p for p in pairings if not p.is_active],
        "visits": HomeVisit.objects.visible_to(user)
        .filter(student=student)
        .select_related("author")[:10],
        "received": received_by_term(student, user),
        "dropout_cases": DropoutCase.objects.visible_to(user)
        .filter(student=student)
        .order_by("-opened_on", "-pk"),
        "may_open_case": dropout.may_manage_cases(user),
        "may_pair": services.may_pair(user),
        "may_record_visit": services.may_record_visit(user, student),
    }


def received_by_term(student, user):
    """What the student received (or is due), by term, with totals from the database."""
    lines = (
        DisbursementLine.objects.visible_to(user)
        .counting()
        .filter(student=student)
        .select_related("program", "term")
        .order_by("-term__starts_on", "program__name")
    )
    totals = {
        row["term_id"]: row
        for row in lines.order_by().values("term_id").annotate(
            total=Sum("amount"), paid=Sum("amount", filter=Q(status=DisbursementLine.Status.PAID))
        )
    }
    terms = []
    for line in lines:
        if not terms or terms[-1]["term"].pk != line.term_id:
            terms.append({"term": line.term, "lines": [], **totals[line.term_id]})
        terms[-1]["lines"].append(line)
    return terms
