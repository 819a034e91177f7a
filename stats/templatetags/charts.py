"""``{% load charts %}``: the chart module (stats/charts.py) for any app's templates.

Lower apps hand their figures to the template and draw them here, so no app below ``stats``
imports it (template libraries are found by Django, not imported by the app).
"""

from django import template

from stats import charts

register = template.Library()


@register.simple_tag
def line_chart(dates, series, title=""):
    return charts.line_chart(dates, series, title=title)


@register.simple_tag
def stacked_bar_chart(dates, series, title=""):
    return charts.stacked_bar_chart(dates, series, title=title)


@register.simple_tag
def bar_chart(days, limit=None, label=""):
    return charts.bar_chart(days, limit=limit, label=label)


@register.simple_tag
def hbar_chart(items, title=""):
    return charts.hbar_chart(items, title=title)


@register.simple_tag
def heatmap(rows, columns, matrix, title="", xlabel="", ylabel=""):
    return charts.heatmap(rows=rows, columns=columns, matrix=matrix, title=title, xlabel=xlabel, ylabel=ylabel)
