"""Forms of the notification pages: shape only; the services decide."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .choices import NotificationKind


class PreferencesForm(forms.Form):
    """One checkbox per kind (e-mail on or off) and the language of the e-mails."""

    language = forms.ChoiceField(label=_("Language of e-mails"), choices=settings.LANGUAGES)

    def __init__(self, *args, kinds: list[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        for kind in kinds or NotificationKind.values:
            self.fields[f"email_{kind}"] = forms.BooleanField(label=NotificationKind(kind).label, required=False)

    def kind_fields(self):
        return [self[name] for name in self.fields if name.startswith("email_")]

    def email_choices(self) -> dict[str, bool]:
        return {
            name.removeprefix("email_"): value for name, value in self.cleaned_data.items() if name.startswith("email_")
        }
