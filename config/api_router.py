"""Every API resource, at the root of the API host as the contract says."""

from rest_framework.routers import DefaultRouter

from courses.views import CourseViewSet, EnrollmentViewSet, InstructorCourseViewSet
from programmes.views import ProgrammeViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("programmes", ProgrammeViewSet, basename="programme")
router.register("courses", CourseViewSet, basename="course")
router.register("enrollments", EnrollmentViewSet, basename="enrollment")
router.register("instructor/courses", InstructorCourseViewSet, basename="instructor-course")

urlpatterns = router.urls
