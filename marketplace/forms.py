"""Account forms: buyer sign-up and the email login form."""

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.utils.translation import gettext_lazy as _


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
