"""Models of the promotions app; later issues fill this module."""
