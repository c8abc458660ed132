"""`found_or_404`: the view's answer when a selector finds nothing."""

import pytest
from django.http import Http404

from marketplace.shortcuts import found_or_404


def test_found_or_404_returns_what_the_selector_found():
    row = object()
    assert found_or_404(row) is row
    # Falsy values are found values: only None means "not found".
    assert found_or_404(0) == 0
    assert found_or_404([]) == []


def test_found_or_404_answers_none_with_404():
    with pytest.raises(Http404):
        found_or_404(None)
