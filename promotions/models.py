"""Models of the promotions app; later issues fill this module."""

# Members and RFM (issue #13): their own module, registered here.
from .membership import Membership, MembershipChange, MembershipLevel, RfmScore  # noqa: F401
