"""Models of the merchants app; later issues fill this module."""
