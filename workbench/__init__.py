"""stripe-workbench: understand a Stripe account from notebooks, scripts and reports.

import workbench
wb = workbench.connect()          # the sandbox when no STRIPE_API_KEY is set
wb.client.v1.charges.list()       # the official stripe client, configured once
"""

from workbench.exceptions import WorkbenchError
from workbench.session import Session, connect

__all__ = ["Session", "WorkbenchError", "connect"]
__version__ = "0.1.0"
