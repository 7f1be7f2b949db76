"""Create or update a county bureau administrator. The county's reference lists are
edited in the app's pages; the admin site is for IT staff only."""
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from students.choices import Role
from students.models import Region, User


class Command(BaseCommand):
    help = "Create or update a bureau administrator of a county (by its division code)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--region", required=True, help="Division code, e.g. 371324.")
        parser.add_argument("--full-name", default="")

    @transaction.atomic
    def handle(self, *args, username, region, full_name, **options):
        county = Region.objects.filter(code=region).first()
        if county is None:
            raise CommandError(_("No region has the code %(code)s.") % {"code": region})
        user, created = User.objects.get_or_create(username=username)
        user.role, user.region, user.school = Role.BUREAU_ADMIN, county, None
        if full_name:
            user.full_name = full_name
        if created:
            user.set_unusable_password()
            user.must_change_password = True  # IT sets the first password; the user replaces it
        user.full_clean()
        user.save()
        self.stdout.write(
            _("%(username)s is a bureau administrator of %(region)s.") % {"username": username, "region": county.name}
        )
        if created or not user.has_usable_password():
            self.stdout.write(
                _("Set the password with: python manage.py changepassword %(username)s") % {"username": username}
            )
