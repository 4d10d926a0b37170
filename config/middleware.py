from urllib.parse import urlsplit

from django.conf import settings

from config.health import healthz


class HealthCheckMiddleware:
    """Answers /healthz before any other middleware reads the Host header. The container's own probe asks
    http://127.0.0.1:8000/healthz, and the loopback address is rightly not an allowed host of the site:
    host validation (CommonMiddleware, CSRF, the HTTPS redirect) would answer it 400 and the container would
    never become healthy. Placed first; nothing else of the site is reachable this way."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == "/healthz":
            return healthz(request)
        return self.get_response(request)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _stripe_page_origins() -> list[str]:
    """Where Connect Stripe and the participant's Pay form lead: they post to us and are redirected to
    Stripe's own pages (onboarding, Checkout), and form-action also rules where a form's redirects go. With
    a local fake (STRIPE_API_BASE_URL) its pages are at its own address."""
    if not settings.STRIPE_SECRET_KEY:
        return []
    if settings.STRIPE_API_BASE_URL:
        return [_origin(settings.STRIPE_API_BASE_URL)]
    return ["https://checkout.stripe.com", "https://connect.stripe.com"]


def content_security_policy() -> str:
    video = _origin(settings.JITSI_BASE_URL)
    return "; ".join(
        [
            "default-src 'self'",
            # No inline script and no eval: an injected <script> or on...= attribute does not run. The pages'
            # scripts are files under static/js; htmx runs with allowEval off (templates/base.html).
            "script-src 'self'",
            # Style elements only from our files (htmx's indicator styles are off, templates/base.html); style
            # attributes stay allowed, for the calendar's positions and Bootstrap's components.
            "style-src 'self'",
            "style-src-attr 'unsafe-inline'",
            # Bootstrap's icons are data: SVGs in its stylesheet.
            "img-src 'self' data:",
            "font-src 'self'",
            # The room page probes the video engine's origin (static/js/video_fallback.js): its frame fires
            # `load` even when the engine could not be reached, so only a request of our own tells.
            f"connect-src 'self' {video}",
            # The video room embeds the video engine (templates/sessions_app/video_room.html).
            f"frame-src {video}",
            "frame-ancestors 'none'",
            " ".join(["form-action 'self'", *_stripe_page_origins()]),
            "base-uri 'none'",
            "object-src 'none'",
        ]
    )


_VIDEO_FEATURES = ("camera", "microphone", "display-capture", "fullscreen")


def permissions_policy() -> str:
    # The video engine's frame needs the camera, the microphone, screen sharing and full screen; a frame
    # can only be given what its page has, so the page delegates them to the engine's origin by name.
    video = _origin(settings.JITSI_BASE_URL)
    delegated = [f'{feature}=(self "{video}")' for feature in _VIDEO_FEATURES]
    return ", ".join([*delegated, "geolocation=()"])


class SecurityHeadersMiddleware:
    """Content-Security-Policy and Permissions-Policy on every response (Django 5.2 has neither)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # Django's debug error pages are inline scripts and styles; they only exist with DEBUG on.
        if settings.DEBUG and response.status_code >= 400:
            return response
        response.headers.setdefault("Content-Security-Policy", content_security_policy())
        response.headers.setdefault("Permissions-Policy", permissions_policy())
        return response
