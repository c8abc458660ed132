"""Models of the catalog app; later issues fill this module."""
