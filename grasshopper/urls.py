"""The composition root's URLs: every app's pages and APIs are mounted here."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from events import views as event_views
from grasshopper import views as site_views
from grasshopper.lib import health
from grasshopper.lib.api.views import ApiDocsView, ApiNotFoundView, ApiRedocView

# Versioned API for mobile clients. Each app adds its own urls module here.
api_v1 = [
    # Orders first: Django tries the patterns in order, and an on-sale rush is order requests. Behind the
    # account and catalogue routes each order paid ~90,000 CPU instructions of failed matches (1.3 %).
    # The router's routes end after orders/<code>/<its own action>/, so loyalty's
    # orders/<code>/redeem-points/ below is still reached.
    path("", include("orders.api.urls")),
    path("", include("accounts.api.urls")),
    path("", include("events.api.urls")),
    # GET loyalty/, loyalty/transactions/, POST orders/<code>/redeem-points/ (not a route of orders' router)
    path("", include("loyalty.api.urls")),
    path("", include("notifications.api.urls")),
    # waitlist/ (join, mine with positions and live offers) and waitlist/<id>/ (leave)
    path("", include("waitlist.api.urls")),
]

urlpatterns = [
    path("", event_views.home, name="home"),
    # --- API (owned by the API skeleton: schema, docs) ---
    # First: Django tries the patterns in order, and the API takes the busiest requests (an on-sale rush).
    # Behind the pages it cost every API call ~160,000 CPU instructions of failed matches, 1.7 % of a whole
    # order (bench/flashsale.py --instructions). Nothing outside the API starts with api/.
    path("api/v1/", include((api_v1, "v1"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", ApiRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    # Last of the API: any other /api/... URL (any version, any method) is a JSON problem 404, not the
    # HTML page. Here rather than at the end of api_v1, so that apps appending to api_v1 stay before it.
    re_path(r"^api/", ApiNotFoundView.as_view(), name="api-not-found"),
    # --- pages ---
    path("", include("events.urls")),
    path("orders/", include("orders.urls")),
    # account/notifications/... and email/unsubscribe/<token>/
    path("", include("notifications.urls")),
    # Grasshopper Plus: join / welcome / cancel / keep (the section itself is on /account/loyalty/).
    path("account/loyalty/membership/", include("loyalty.urls_membership")),
    # account/loyalty/ and orders/<code>/redeem-points/ (the checkout's "pay with points" form)
    path("", include("loyalty.urls")),
    # r/<code>/ (the referral link: short, for sharing) and orders/<code>/welcome-discount/
    path("", include("loyalty.urls_referrals")),
    # waitlist/ (yours), join/leave from the event page, a guest's confirm/leave links
    path("waitlist/", include("waitlist.urls")),
    path("favicon.ico", site_views.favicon),
    # --- operations (health) ---
    # No trailing slash, no authentication, never cached; exempt from the SSL redirect (settings).
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.ReadinessView.as_view(), name="readyz"),
    # --- accounts ---
    path("accounts/", include("allauth.urls")),
    path("_allauth/", include("allauth.headless.urls")),
    path("admin/", admin.site.urls),
    # --- Stripe (dj-stripe): POST /stripe/webhook/<uuid>/, signed by Stripe; csrf-exempt in dj-stripe,
    # never rate limited (Stripe bursts, then retries), reached over HTTPS like every page.
    path("stripe/", include("djstripe.urls", namespace="djstripe")),
    # Offline mode's stand-in for Stripe's hosted Checkout page: 404 unless STRIPE_OFFLINE and DEBUG.
    path("_fakestripe/", include("orders.urls_fakestripe")),
]

handler400 = "grasshopper.views.bad_request"
handler403 = "grasshopper.views.permission_denied"
handler404 = "grasshopper.views.page_not_found"
handler500 = "grasshopper.views.server_error"
