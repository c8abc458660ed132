"""Public catalog API URLs."""

urlpatterns: list = []
