"""Template filters for money: {{ amount|yuan }} → ¥1,234.50."""

from django import template

from marketplace.money import format_cny

register = template.Library()


@register.filter
def yuan(value):
    if value is None or value == "":
        return ""
    return format_cny(value)
