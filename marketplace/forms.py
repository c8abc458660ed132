"""Account forms (buyer sign-up, the email login form), and how every page's form shows a
service's refusal."""

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from .errors import DomainError, NotFoundError


def add_domain_error(form: forms.Form, error: DomainError) -> None:
    """Show a service's refusal on the form that asked for it.

    On the field the form's `error_fields` names for the error's code; else per field when
    the error names fields (`extra["fields"]`: a field the form lacks goes above it); else
    above the form. A not-found refusal (another merchant's or buyer's row, found so under
    the service's lock) is the 404 page, as the selectors answer.
    """
    if isinstance(error, NotFoundError):
        raise Http404(str(error.message)) from error
    field = getattr(form, "error_fields", {}).get(error.code)
    if field in form.fields:
        form.add_error(field, str(error.message))
        return
    fields = (error.extra or {}).get("fields")
    if isinstance(fields, dict):
        for name, problems in fields.items():
            for problem in problems if isinstance(problems, list) else [problems]:
                form.add_error(name if name in form.fields else None, str(problem))
    else:
        form.add_error(None, str(error.message))


class SignupForm(UserCreationForm):
    """Buyer sign-up: email, names, optional phone and a password typed twice."""

    class Meta:
        model = get_user_model()
        fields = ("email", "first_name", "last_name", "phone")
        labels = {"email": _("Email"), "first_name": _("First name"), "last_name": _("Last name"), "phone": _("Phone")}

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()

    def validate_unique(self):
        # Saying "this email has an account" would tell anyone which addresses are registered:
        # a taken address is handled by `signup_request`, by e-mail to its owner.
        pass


class EmailAuthenticationForm(AuthenticationForm):
    """The login form; Django names its login field `username`, we label it Email."""

    username = forms.EmailField(
        label=_("Email"), widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )

    def clean_username(self):
        return self.cleaned_data["username"].strip().lower()
