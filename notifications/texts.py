"""The words of each kind of notification: a subject, a short line (the notification centre and
the header) and a body (the e-mail). They are translatable templates filled from the
notification's parameters at the moment they are shown or sent, in the reader's language, so a
notification raised while the reader's language was unknown still reads in it, and a corrected
translation applies to old notifications too.

A kind with outcomes (accepted or refused, ...) has one text per outcome, chosen by the
parameter `outcome`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from marketplace.money import format_cny

from .choices import NotificationKind as K

#: Parameters that are amounts of money (strings such as "99.00"): shown as ¥99.00.
MONEY_PARAMS = frozenset({"amount", "total"})
#: Parameters that are moments (ISO strings): shown in the reader's format and time zone.
TIME_PARAMS = frozenset({"deadline", "appeal_until"})
#: Parameters that are an English msgid of the calling app's catalogue (a risk alert's kind):
#: shown translated into the reader's language, so the calling app passes words, not a language.
TRANSLATED_PARAMS = frozenset({"summary"})


@dataclass(frozen=True)
class Text:
    subject: Promise
    line: Promise
    body: Promise


TEXTS: dict[str, Text | dict[str, Text]] = {
    K.ORDER_PAID: Text(
        _("Payment received for order %(order)s"),
        _("Order %(order)s is paid: %(total)s."),
        _("We received your payment of %(total)s for order %(order)s. The shops are preparing your parcels."),
    ),
    K.ORDER_SHIPPED: Text(
        _("Order %(order)s has shipped"),
        _("Order %(order)s shipped with %(carrier)s, tracking number %(tracking)s."),
        _("Your order %(order)s has been handed to %(carrier)s. Tracking number: %(tracking)s."),
    ),
    K.AFTER_SALES_DECIDED: {
        "accepted": Text(
            _("Your after-sales request for order %(order)s was accepted"),
            _("After-sales request %(request)s for order %(order)s was accepted."),
            _("The shop accepted your after-sales request %(request)s for order %(order)s. %(note)s"),
        ),
        "refused": Text(
            _("Your after-sales request for order %(order)s was refused"),
            _("After-sales request %(request)s for order %(order)s was refused."),
            _(
                "The shop refused your after-sales request %(request)s for order %(order)s: %(note)s "
                "You may ask the platform to arbitrate from the order page."
            ),
        ),
    },
    K.REFUND_ISSUED: Text(
        _("Refund of %(amount)s for order %(order)s"),
        _("A refund of %(amount)s for order %(order)s is on its way."),
        _("A refund of %(amount)s for order %(order)s has been issued to your original payment method."),
    ),
    K.COMPLAINT_ANSWERED: {
        "answered": Text(
            _("The platform answered your complaint about order %(order)s"),
            _("Your complaint about order %(order)s was answered."),
            _("The platform answered your complaint about order %(order)s: %(response)s"),
        ),
        "resolved": Text(
            _("Your complaint about order %(order)s is resolved"),
            _("Your complaint about order %(order)s is resolved."),
            _("The platform resolved your complaint about order %(order)s: %(response)s"),
        ),
    },
    K.NEW_ORDER: Text(
        _("New order %(order)s"),
        _("New paid order %(order)s: %(total)s."),
        _("Order %(order)s has been paid (%(total)s). Please ship it in time."),
    ),
    K.AFTER_SALES_REQUESTED: Text(
        _("After-sales request %(request)s for order %(order)s"),
        _("After-sales request %(request)s for order %(order)s: answer by %(deadline)s."),
        _(
            "A buyer opened after-sales request %(request)s for order %(order)s. If you do not answer by "
            "%(deadline)s it is accepted automatically."
        ),
    ),
    K.DISPUTE_OPENED: Text(
        _("Dispute opened on order %(order)s"),
        _("The buyer asked the platform to arbitrate request %(request)s of order %(order)s."),
        _(
            "The buyer escalated after-sales request %(request)s of order %(order)s to the platform. "
            "The platform will arbitrate; you may add your side in the portal."
        ),
    ),
    K.STATEMENT_READY: Text(
        _("Statement %(statement)s is ready"),
        _("Statement %(statement)s for %(period)s is ready: %(amount)s."),
        _("Your statement %(statement)s for %(period)s is ready, with %(amount)s payable. See it in the portal."),
    ),
    K.LOW_STOCK: Text(
        _("Low stock: %(sku)s"),
        _("%(product)s (%(sku)s) is low: %(available)s left."),
        _("Only %(available)s of %(product)s (%(sku)s) are left for sale. Restock it to keep selling."),
    ),
    K.SUBSIDY_DECIDED: {
        "approved": Text(
            _("Your subsidy application was approved"),
            _("Your application to %(programme)s was approved: %(amount)s."),
            _(
                "Your application to the subsidy programme %(programme)s was approved for %(amount)s. "
                "It is paid with your next statement."
            ),
        ),
        "refused": Text(
            _("Your subsidy application was refused"),
            _("Your application to %(programme)s was refused."),
            _("Your application to the subsidy programme %(programme)s was refused: %(reason)s"),
        ),
    },
    K.PENALTY_RAISED: Text(
        _("Penalty %(penalty)s raised"),
        _("Penalty %(penalty)s of %(amount)s was raised."),
        _(
            "The platform raised penalty %(penalty)s of %(amount)s against your shop: %(reason)s "
            "You may appeal it in the portal until %(appeal_until)s."
        ),
    ),
    K.PENALTY_DECIDED: {
        "cancelled": Text(
            _("Your appeal of penalty %(penalty)s was upheld"),
            _("Penalty %(penalty)s was cancelled after your appeal."),
            _("The platform upheld your appeal: penalty %(penalty)s is cancelled. %(reason)s"),
        ),
        "stands": Text(
            _("Your appeal of penalty %(penalty)s was rejected"),
            _("Penalty %(penalty)s of %(amount)s stands: the appeal was rejected."),
            _("The platform rejected your appeal: penalty %(penalty)s of %(amount)s stands. %(reason)s"),
        ),
    },
    K.RISK_ALERT: Text(
        _("Risk alert on your shop"),
        _("Risk alert: %(summary)s"),
        _("The platform raised a risk alert on your shop: %(summary)s Please check the portal."),
    ),
    K.APPLICATION_SUBMITTED: Text(
        _("Merchant application to review: %(merchant)s"),
        _("%(merchant)s submitted its application."),
        _("%(merchant)s submitted its merchant application. It waits in the review queue."),
    ),
    K.DISPUTE_TO_ARBITRATE: Text(
        _("Dispute to arbitrate on order %(order)s"),
        _("Dispute %(dispute)s on order %(order)s waits for arbitration."),
        _("The buyer of order %(order)s asked the platform to arbitrate (dispute %(dispute)s)."),
    ),
}


class _Params(dict):
    """Parameters for `%` formatting: a missing one shows empty rather than failing the page,
    moments and amounts show as `TIME_PARAMS` and `MONEY_PARAMS` say."""

    def __missing__(self, key):
        return ""

    def __getitem__(self, key):
        value = super().__getitem__(key) if key in self else self.__missing__(key)
        if key in MONEY_PARAMS and value != "":
            return format_cny(value)
        if key in TRANSLATED_PARAMS and isinstance(value, str) and value:
            return gettext(value)
        if key in TIME_PARAMS and isinstance(value, str):
            moment = parse_datetime(value)
            if moment is not None:
                return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")
        return value


def text_for(kind: str, params: dict) -> Text | None:
    text = TEXTS.get(kind)
    if isinstance(text, dict):
        text = text.get(params.get("outcome", ""))
    return text


def render(kind: str, params: dict, part: str) -> str:
    """The `part` (subject, line or body) of a notification in the active language."""
    text = text_for(kind, params)
    if text is None:
        return str(kind)
    return (str(getattr(text, part)) % _Params(params)).strip()


def required_params(kind: str, params: dict) -> set[str]:
    """The parameters the texts of `kind` (of the outcome `params` names) need: `notify`
    refuses a call without them. An unknown outcome needs `outcome` itself, so it is refused."""
    text = TEXTS[kind]
    if isinstance(text, dict):
        chosen = text.get(params.get("outcome"))
        if chosen is None:
            return {f"outcome (one of {', '.join(sorted(text))})"}
        text = chosen
    names = {"outcome"} if isinstance(TEXTS[kind], dict) else set()
    for part in (text.subject, text.line, text.body):
        names.update(re.findall(r"%\((\w+)\)s", str(part)))
    return names
