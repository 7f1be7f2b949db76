"""Import a roster file from the command line, with the same checks as the import page.

Exit status: 0 applied (or a clean dry run), 1 rows had errors, 2 the file was refused.
"""
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from students import importer
from students.exports import error_report_workbook


class Command(BaseCommand):
    help = "Check and import a roster (.xlsx, .xls or .csv): all rows or none."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="Check only; write nothing.")
        parser.add_argument("--report", type=Path, help="Write the rows with errors to this .xlsx.")
        parser.add_argument(
            "--user",
            help="The staff account the import is made as (its scope applies); "
            "default: the first active superuser.",
        )

    def handle(self, *args, **options):
        actor = self.actor(options["user"])
        path = options["file"]
        try:
            with path.open("rb") as file, transaction.atomic():
                roster_import, plan = importer.roster_import_check(
                    actor=actor, file=file, file_name=path.name
                )
                if not plan.has_errors and not options["dry_run"]:
                    plan = importer.roster_import_apply(actor=actor, roster_import=roster_import)
                elif options["dry_run"]:
                    transaction.set_rollback(True)  # a dry run leaves no trace
        except importer.SpreadsheetRefused as refusal:
            self.stderr.write(refusal.message)
            raise SystemExit(2) from None
        except OSError as error:
            self.stderr.write(str(error))
            raise SystemExit(2) from None
        for missing in plan.header.missing_required:
            self.stdout.write(_("missing column: %(column)s") % {"column": missing})
        for error in plan.errors:
            self.stdout.write(f"row {error.row_number}, {error.column}: {error.message}")
        if options["report"] and plan.has_errors:
            table = importer.read_roster(path.read_bytes(), path.name)
            error_report_workbook(plan, table).save(options["report"])
        counts = plan.counts
        error_count = counts["error"] + len(plan.header.missing_required)
        self.stdout.write(
            f"created={counts['new']} updated={counts['updated']} "
            f"unchanged={counts['unchanged']} errors={error_count}"
        )
        if plan.has_errors:
            raise SystemExit(1)

    def actor(self, username):
        users = get_user_model().objects.filter(is_active=True)
        if username:
            user = users.filter(username=username).first()
            if user is None:
                raise CommandError(_("No active staff account is called %(name)s.") % {"name": username})
            return user
        user = users.filter(is_superuser=True).order_by("pk").first()
        if user is None:
            raise CommandError(_("Create a superuser first, or name a staff account with --user."))
        return user
