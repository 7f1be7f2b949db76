"""The registry's hooks: how the casework app (`aid`) takes part in registry work without
the registry importing it. `aid` registers its functions in `AidConfig.ready()`.

- `on_status_change(listener)`: `listener(students, actor)` runs inside the transaction of
  every write path that may have changed students' enrolment status (the student form,
  the roster import), so dropout control opens its cases with the change or not at all.
- `add_student_panel(panel)`: `panel(student, user)` returns template context for the
  student page (the casework panel: pairings, visits, subsidies received, dropout cases).
- `add_selection_action(action)`: `action(user)` returns (label, URL) of a page that
  takes the students ticked on the student list (as `?id=…&id=…`), or None when the
  user may not use it (pairing the ticked students with a teacher).
- `count_roster_with(counter)`: `counter(user, filters)` returns how many students the
  student list holds for these filters ({name: cleaned value}, the order left out), or None
  when it cannot tell; the list then counts its rows (the roster tallies of `aid`).
- `count_roster_by_school_with(counter)`: `counter(user, region)` returns {(school id,
  stage): (students, in school)} of the students on the roster the user sees, within
  `region` when one is given, or None when it cannot tell; the distribution table then
  counts the students (the roster tallies of `aid`).
"""
_status_listeners = []
_student_panels = []
_selection_actions = []
_roster_counters = []
_school_counters = []


def on_status_change(listener):
    if listener not in _status_listeners:
        _status_listeners.append(listener)
    return listener


def status_changed(students, actor):
    for listener in _status_listeners:
        listener(students, actor)


def add_student_panel(panel):
    if panel not in _student_panels:
        _student_panels.append(panel)
    return panel


def student_panel_context(student, user):
    context = {}
    for panel in _student_panels:
        context.update(panel(student, user))
    return context


def add_selection_action(action):
    if action not in _selection_actions:
        _selection_actions.append(action)
    return action


def selection_actions(user):
    """[(label, URL)] of the pages other apps offer for the ticked students."""
    return [offered for offered in (action(user) for action in _selection_actions) if offered]


def count_roster_with(counter):
    if counter not in _roster_counters:
        _roster_counters.append(counter)
    return counter


def roster_count(user, filters):
    """The student list's count for `filters` from the first counter that can tell, or None."""
    for counter in _roster_counters:
        count = counter(user, filters)
        if count is not None:
            return count
    return None


def count_roster_by_school_with(counter):
    if counter not in _school_counters:
        _school_counters.append(counter)
    return counter


def roster_by_school(user, region=None):
    """The distribution table's counts from the first counter that can tell, or None."""
    for counter in _school_counters:
        counts = counter(user, region)
        if counts is not None:
            return counts
    return None
