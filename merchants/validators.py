"""Validators of Chinese business identifiers."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# GB 32100-2015: 31 characters (no I, O, S, V, Z) and the weights of positions 1–17.
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_char(first17: str) -> str:
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    check = 31 - total % 31
    return _USCC_CHARS[0 if check == 31 else check]


def is_valid_uscc(code: str) -> bool:
    code = (code or "").strip().upper()
    if len(code) != 18 or any(c not in _USCC_CHARS for c in code):
        return False
    return uscc_check_char(code[:17]) == code[17]


def validate_uscc(value: str) -> None:
    code = (value or "").strip().upper()
    if len(code) != 18:
        raise ValidationError(_("A unified social credit code has exactly 18 characters."), code="uscc_length")
    if any(c not in _USCC_CHARS for c in code):
        raise ValidationError(
            _("A unified social credit code uses digits and capital letters except I, O, S, V and Z."),
            code="uscc_chars",
        )
    if uscc_check_char(code[:17]) != code[17]:
        raise ValidationError(
            _("The check character of this unified social credit code is wrong: please check for a typo."),
            code="uscc_check",
        )


def validate_id_number(value: str) -> None:
    """Mainland resident ID: 18 characters, ISO 7064 MOD 11-2 check digit."""
    number = (value or "").strip().upper()
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    if len(number) != 18 or not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise ValidationError(_("An ID number has 17 digits followed by a digit or X."), code="id_format")
    check = "10X98765432"[sum(int(d) * w for d, w in zip(number[:17], weights, strict=True)) % 11]
    if check != number[17]:
        raise ValidationError(
            _("The check digit of this ID number is wrong: please check for a typo."), code="id_check"
        )


def clean_bank_account_number(value) -> str:
    """The digits of a bank account number (spaces removed); 8 to 30 of them, as the application asks."""
    number = "".join(str(value or "").split())
    if not number.isdigit() or not 8 <= len(number) <= 30:
        raise ValidationError(_("A bank account number has 8 to 30 digits."), code="bank_account_number")
    return number
