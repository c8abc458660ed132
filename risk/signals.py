"""Signals of the risk app.

`quarterly_evaluation_completed` is sent on commit for each quarterly evaluation
(sender=None, merchant_id, evaluation_id, score, quarter); the risk alerts listen to it.
"""

from django.dispatch import Signal

quarterly_evaluation_completed = Signal()
