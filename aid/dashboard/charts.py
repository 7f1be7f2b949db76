"""The dashboard's charts as plain data for Chart.js: labels, series, and for every bar the
link to the list of names behind it."""
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from students.templatetags.permissions import may_open


def link(user, name, **params):
    """The list behind a number, or None when the user may not open it (the number then
    stays, without a link)."""
    if not may_open(user, name):
        return None
    url = reverse(name)
    return f"{url}?{urlencode(params)}" if params else url


def charts_for(board, user):
    specs = [students_chart(board, user), pairing_chart(board, user)]
    if board.coverage is not None:
        specs.append(coverage_chart(board, user))
    if board.money:
        specs.append(money_chart(board, user))
    return [with_table(spec) for spec in specs]


def with_table(spec):
    """The chart for the page: its drawing spec (as JSON) and the same numbers as table rows
    of (label, [(value, link) per series])."""
    rows = [
        (label, [(series.get("display", series["data"])[index], series["links"][index]) for series in spec["series"]])
        for index, label in enumerate(spec["labels"])
    ]
    return {
        "id": spec["id"],
        "data_id": f"{spec['id']}-data",
        "title": spec["title"],
        "percent": spec.get("percent", False),
        "series_labels": [series["label"] for series in spec["series"]],
        "rows": rows,
        "spec": spec,
    }


def students_chart(board, user):
    stages = [row for row in board.stages if row.total]
    return {
        "id": "chart-students",
        "title": _("Students on the roster by stage"),
        "type": "bar",
        "stacked": True,
        "labels": [row.label for row in stages],
        "series": [
            {
                "label": _("In school"),
                "data": [row.in_school for row in stages],
                "links": [link(user, "students:student_list", stage=row.stage, in_school="true") for row in stages],
            },
            {
                "label": _("Not in school"),
                "data": [row.total - row.in_school for row in stages],
                "links": [link(user, "students:student_list", stage=row.stage, in_school="false") for row in stages],
            },
        ],
    }


def pairing_chart(board, user):
    return {
        "id": "chart-pairing",
        "title": _("Students with a pairing teacher"),
        "type": "doughnut",
        "labels": [_("Paired"), _("Not paired")],
        "series": [
            {
                "label": _("Students"),
                "data": [board.paired, board.unpaired],
                "links": [link(user, "students:student_list"), link(user, "aid:unpaired")],
            }
        ],
    }


def coverage_chart(board, user):
    townships = board.coverage.townships
    return {
        "id": "chart-coverage",
        "title": _("Home-visit coverage this term by township (%)"),
        "type": "bar",
        "percent": True,
        "labels": [township.name for township in townships],
        "series": [
            {
                "label": _("Visited"),
                # A township is listed only for its students, so its share is never None.
                "data": [float(t.subtotal.share) for t in townships],  # for drawing only
                "display": [t.subtotal.share for t in townships],
                "links": [
                    link(user, "aid:unvisited", term=board.term.pk, region=t.code) for t in townships
                ],
            }
        ],
    }


def money_chart(board, user):
    return {
        "id": "chart-money",
        "title": _("Aid this term: planned and paid (yuan)"),
        "type": "bar",
        "labels": [m.name for m in board.money],
        "series": [
            {
                "label": _("Planned"),
                "data": [float(m.planned) for m in board.money],  # for drawing only
                "display": [f"¥{m.planned:,.2f}" for m in board.money],
                "links": [link(user, "aid:batch_list", program=m.program_id, term=board.term.pk) for m in board.money],
            },
            {
                "label": _("Paid"),
                "data": [float(m.paid) for m in board.money],
                "display": [f"¥{m.paid:,.2f}" for m in board.money],
                "links": [link(user, "aid:batch_list", program=m.program_id, term=board.term.pk) for m in board.money],
            },
        ],
    }
