"""A record's allowed moves from state to state, checked by the service that makes the move,
so every write path (pages, imports, commands) refuses the same moves with the same message."""
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class StateMachine:
    """`moves` maps each state to the states it may move to; `choices` (TextChoices) names
    them in messages. `messages` may give a better message for a particular refused move,
    keyed by (from, to). Staying in the same state is a move only when listed."""

    def __init__(self, choices, moves, messages=None):
        self.choices = choices
        self.moves = {source: frozenset(targets) for source, targets in moves.items()}
        self.messages = messages or {}

    def allows(self, source, target):
        return target in self.moves.get(source, frozenset())

    def check(self, source, target, *, field=None):
        """Raise a ValidationError (beside `field` when given) unless the move is allowed."""
        if self.allows(source, target):
            return
        message = self.messages.get((source, target)) or _(
            "A record that is “%(source)s” cannot become “%(target)s”."
        ) % {"source": self.choices(source).label, "target": self.choices(target).label}
        raise ValidationError({field: message} if field else message, code="move")
