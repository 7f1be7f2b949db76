"""A paginator for long lists: a page's rows are found by their keys first."""
from django.core.paginator import Paginator


class KeysFirstPaginator(Paginator):
    """Finds a page's primary keys with a query of the keys alone, then fetches those rows
    (with their select_related joins) by key.

    Deep in a long list (page 1000 is 50,000 rows in) the database must step over every
    earlier row. Stepping over keys in an index that matches the order is cheap; stepping
    over whole rows, each joined to its school and household, is not.
    """

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        keys = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        by_key = self.object_list.in_bulk(keys) if keys else {}
        return self._get_page([by_key[key] for key in keys if key in by_key], number, self)
