"""Staff actions of the risk alerts and the permissions each needs (see
`marketplace.staff_actions`). Operations hold them."""

from __future__ import annotations

from marketplace.staff_actions import declare

ALERT_VIEW = declare("risk.alert_view", "risk.view_riskalert")
ALERT_ACKNOWLEDGE = declare("risk.alert_acknowledge", "risk.view_riskalert", "risk.change_riskalert")
ALERT_RESOLVE = declare("risk.alert_resolve", "risk.view_riskalert", "risk.change_riskalert")
ALERT_ASSIGN = declare("risk.alert_assign", "risk.view_riskalert", "risk.change_riskalert")
