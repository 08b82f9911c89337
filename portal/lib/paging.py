"""Page numbers for list pages whose rows grow with the estate (tenants, runs, clients, grants).

A page renders at most ``PAGE_SIZE`` rows whatever the table holds: two queries (the count and
the page), and the pager says which rows these are of how many. A page number that is not one
(text, too high, below 1) shows the nearest page instead of an error.
"""

from django.core.paginator import Page, Paginator

PAGE_SIZE = 50


def paginate(request, items, *, per_page: int = PAGE_SIZE, param: str = "page") -> Page:
    """One page of ``items`` (an ordered queryset or a list), chosen by ``?<param>=N``.

    The page carries ``previous_link`` and ``next_link``: the current query string with only
    ``param`` changed, so filters (a tenant, another list's page) are kept.
    """
    page = Paginator(items, per_page).get_page(request.GET.get(param))
    query = request.GET.copy()

    def link(number: int) -> str:
        query[param] = str(number)
        return "?" + query.urlencode()

    page.previous_link = link(page.previous_page_number()) if page.has_previous() else ""
    page.next_link = link(page.next_page_number()) if page.has_next() else ""
    return page
