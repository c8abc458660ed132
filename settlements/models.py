"""Models of the settlements app; later issues fill this module."""
