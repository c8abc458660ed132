"""Models of the risk app; later issues fill this module."""
