"""``{% link_clicks texts as clicks %}`` and ``{% link_chart clicks %}``, for
``links/_clicks.html`` (include it with ``texts`` = a queryset of outbound texts)."""

from django import template

from links.services import ClickStats, click_stats
from sms.charts import line_chart

register = template.Library()


@register.simple_tag
def link_clicks(texts) -> ClickStats:
    return click_stats(texts)


@register.simple_tag
def link_chart(stats: ClickStats):
    series = {"opens": stats.series["opens"], "unique": stats.series["unique"], "bots": stats.series["bots"]}
    return line_chart(stats.days, series, title="Link clicks per day: opens, unique clicks, bots")
