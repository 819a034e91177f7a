"""``{% link_clicks texts as clicks %}`` and ``{% link_series clicks as series %}``, for
``links/_clicks.html`` (include it with ``texts`` = a queryset of outbound texts), which draws
the series with ``{% line_chart %}`` of the chart module (``{% load charts %}``, stats app)."""

from django import template

from links.services import ClickStats, click_stats

register = template.Library()


@register.simple_tag
def link_clicks(texts) -> ClickStats:
    return click_stats(texts)


@register.simple_tag
def link_series(stats: ClickStats) -> dict[str, list[int]]:
    return {"opens": stats.series["opens"], "unique": stats.series["unique"], "bots": stats.series["bots"]}
