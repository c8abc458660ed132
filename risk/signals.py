"""Signals of the risk app.

`quarterly_evaluation_completed` (sender: None; `merchant_id`, `evaluation_id`, `score`,
`quarter`) is sent once a merchant's quarterly evaluation is recorded; the risk alerts raise an
alert when the score is below 80.
"""

from __future__ import annotations

from django.dispatch import Signal

quarterly_evaluation_completed = Signal()
