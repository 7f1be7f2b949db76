"""How every list page pages and sorts, in one place.

- `ListPagination` (part of every staff view, students.views.base): the page size the user
  chose (?per_page= one of PAGE_SIZES) and a page number that is forgiving: past the end
  it shows the last page, and anything that is not a number the first, rather than a 404.
  A list whose count a tally can give for the filters the user chose says so in its
  `count_for(filters)`, and its rows are then not counted.
- `StableOrderingFilter`: django-filter's OrderingFilter that ends every order with the
  primary key, so that rows of equal value never repeat or vanish between pages.
"""
from collections.abc import Sized

import django_filters

PAGE_SIZES = (25, 50, 100, 200)


class ListPagination:
    """For views with MultipleObjectMixin (ListView, FilterView); inert in others."""

    def get_paginate_by(self, queryset):
        default = super().get_paginate_by(queryset)
        if default is None:
            return None
        chosen = self.request.GET.get("per_page", "")
        return int(chosen) if chosen.isdigit() and int(chosen) in PAGE_SIZES else default

    def paginate_queryset(self, queryset, page_size):
        paginator = self.get_paginator(
            queryset, page_size, orphans=self.get_paginate_orphans(),
            allow_empty_first_page=self.get_allow_empty(),
        )
        page = paginator.get_page(self.request.GET.get(self.page_kwarg))
        return paginator, page, page.object_list, page.has_other_pages()

    def get_paginator(self, queryset, per_page, **kwargs):
        paginator = super().get_paginator(queryset, per_page, **kwargs)
        filterset = getattr(self, "filterset", None)
        filters = chosen_filters(filterset) if filterset is not None else None
        count = self.count_for(filters) if filters is not None else None
        if count is not None:
            paginator.count = count
        return paginator

    def count_for(self, filters):
        """How many rows the list holds for `filters` ({name: cleaned value} the user chose),
        known without counting them; None to have them counted."""
        return None

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if getattr(self, "paginate_by", None):  # the page size select (_pagination.html)
            context["page_sizes"] = PAGE_SIZES
        return context


class StableOrderingFilter(django_filters.OrderingFilter):
    def filter(self, queryset, value):
        queryset = super().filter(queryset, value)
        if value:
            queryset = queryset.order_by(*queryset.query.order_by, "-pk" if value[0].startswith("-") else "pk")
        return queryset


def chosen_filters(filterset):
    """{filter name: cleaned value} of the filters the user set (an unbound filterset has
    none), or None when the filterset is invalid. False is a choice (in school or not: not);
    an empty text, list or queryset (no student ticked) is not."""
    if not filterset.is_bound:
        return {}
    if not filterset.is_valid():
        return None
    return {name: value for name, value in filterset.form.cleaned_data.items() if _chosen(value)}


def _chosen(value):
    return value is not None and not (isinstance(value, Sized) and len(value) == 0)
