"""The scoring app's pages: flags and needs-attention (urls_flags), cohort outcomes (urls_cohort)."""

from scoring import urls_cohort, urls_flags

app_name = "scoring"
urlpatterns = [*urls_flags.urlpatterns, *urls_cohort.urlpatterns]
