"""Filter pieces shared by the apps' filtersets (API and HTML list pages alike)."""

from __future__ import annotations

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

_TRUE = frozenset({"true", "True", "1"})
_FALSE = frozenset({"false", "False", "0"})
_ANY = frozenset({"", "unknown"})


class YesNoSelect(forms.NullBooleanSelect):
    """Any / yes / no. Hands the raw value to the field, which refuses what it cannot read
    (Django's select turns an unreadable value into "any", so a typo would silently widen the
    list)."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("unknown", _("Any")), ("true", _("Yes")), ("false", _("No"))]

    def value_from_datadict(self, data, files, name):
        return data.get(name)


class YesNoField(forms.NullBooleanField):
    """`true`/`1`, `false`/`0`, or nothing (either filter value is fine); anything else is invalid."""

    widget = YesNoSelect
    default_error_messages = {"invalid": _("Enter true or false.")}

    def to_python(self, value):
        if value is None or value is True or value is False:
            return value
        if value in _ANY:
            return None
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")


class BooleanFilter(django_filters.BooleanFilter):
    """django-filter's boolean filter, refusing values that are neither true nor false."""

    field_class = YesNoField
