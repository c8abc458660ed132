"""Models of the orders app; later issues fill this module."""
