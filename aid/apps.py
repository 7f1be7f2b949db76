from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AidConfig(AppConfig):
    name = "aid"
    verbose_name = _("Aid casework")

    def ready(self):
        """Join the registry's work through its hooks (students/hooks.py)."""
        from students import hooks

        from .casework.student_panel import casework_panel
        from .casework.tallies import roster_by_school_and_stage, roster_count
        from .casework.views.pairings import pair_selected_action
        from .dropout.services import open_cases_for_status

        hooks.on_status_change(open_cases_for_status)
        hooks.add_student_panel(casework_panel)
        hooks.add_selection_action(pair_selected_action)
        hooks.count_roster_with(roster_count)
        hooks.count_roster_by_school_with(roster_by_school_and_stage)
