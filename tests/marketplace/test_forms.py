"""`add_domain_error`: the one way every page's form shows a service's refusal."""

import pytest
from django import forms
from django.http import Http404

from marketplace.errors import ConflictError, DomainError, NotFoundError
from marketplace.forms import add_domain_error


class ShipForm(forms.Form):
    carrier = forms.CharField(required=False)
    tracking_number = forms.CharField(required=False)
    error_fields = {"tracking_required": "tracking_number"}


def _form() -> ShipForm:
    form = ShipForm({"carrier": "SF", "tracking_number": ""})
    assert form.is_valid()
    return form


def test_the_code_the_form_names_goes_on_that_field():
    form = _form()
    add_domain_error(form, DomainError("tracking_required", "A tracking number is required."))
    assert form.errors == {"tracking_number": ["A tracking number is required."]}


def test_the_fields_the_error_names_get_their_messages_and_unknown_ones_go_above_the_form():
    form = _form()
    error = DomainError(
        "validation_error",
        "Check the form.",
        {"fields": {"carrier": ["Unknown carrier.", "Too long."], "weight": "Too heavy."}},
    )
    add_domain_error(form, error)
    assert form.errors == {"carrier": ["Unknown carrier.", "Too long."], "__all__": ["Too heavy."]}


def test_any_other_refusal_goes_above_the_form():
    form = _form()
    add_domain_error(form, ConflictError("already_shipped", "The order is already shipped."))
    assert form.errors == {"__all__": ["The order is already shipped."]}


def test_a_not_found_refusal_is_the_404_page_and_leaves_the_form_alone():
    form = _form()
    with pytest.raises(Http404, match=r"No such order\."):
        add_domain_error(form, NotFoundError(message="No such order."))
    assert form.errors == {}
