"""Every API resource, at the root of the API host as the contract says."""

from rest_framework.routers import DefaultRouter

from programmes.views import ProgrammeViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("programmes", ProgrammeViewSet, basename="programme")

urlpatterns = router.urls
