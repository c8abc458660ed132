"""The lean routes (marketplace/lean.py): the flash-sale admission with an API token.

A request the lean handler serves skips the session, CSRF and static-file middleware, so it
takes only what needs none of them: `POST` to the admission route with an `Authorization:
Token …` header (any case, as DRF reads it). Without a token (a browser's session, an
anonymous caller) the request goes to the project's full stack and DRF answers it as before.
The path is the one the API's router gives the admission (`flash-sale-admit`; a test checks
they agree).
"""

from django.urls import path

from marketplace.lean import token_posts

from . import flash

urlpatterns = [
    path("api/v1/promotions/flash-sales/<int:pk>/admit/", flash.admit_with_token, name="flash-sale-admit-lean"),
]

# The project's error views (marketplace/urls.py), so an error answers here as anywhere (the
# API's JSON under /api/).
handler400 = "marketplace.views.bad_request"
handler403 = "marketplace.views.permission_denied"
handler404 = "marketplace.views.page_not_found"
handler500 = "marketplace.views.server_error"


#: Whether the lean handler serves a WSGI request (see the module's docstring).
takes = token_posts(__name__)
