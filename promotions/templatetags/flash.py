"""The flash-sale holds of the signed-in buyer, shown on the cart and checkout pages."""

from django import template

from promotions.selectors import flash_holds_live_for_buyer

register = template.Library()


@register.inclusion_tag("promotions/_flash_holds.html", takes_context=True)
def flash_holds(context) -> dict:
    """`{% flash_holds %}`: the buyer's live holds and until when (nothing, and no query, for
    a visitor or staff): the buyer sees which units checkout prices at the flash-sale price.
    The page's own `flash_holds` are shown when its view read them (no second query)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.is_staff:
        return {"holds": []}
    if "flash_holds" in context:  # read by the page's view, which prices them too
        return {"holds": context["flash_holds"]}
    return {"holds": flash_holds_live_for_buyer(user)}
