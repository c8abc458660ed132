from marketplace.routers import Router

from .views import NotificationViewSet

router = Router()
router.register("", NotificationViewSet, basename="notification")

urlpatterns = router.urls
