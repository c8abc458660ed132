"""Every write of the promotions app, by domain (flash sales in `flash`)."""
