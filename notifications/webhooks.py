"""Twilio's calls to us: the status callback of each message we sent, and the messages people send back.

Both are public URLs, so nothing in them is believed before Twilio's signature is checked. The email
services' tracking webhooks are anymail's views (config/urls.py); notifications/signals.py records them.
"""

from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from notifications.provider_events import notice_record_provider_status, opt_out_keyword, sms_opt_out_record


def _signed_by_twilio(request) -> bool:
    # Without an auth token there is nothing to check a signature against, so nothing is accepted.
    token = settings.TWILIO_AUTH_TOKEN
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False
    # Twilio signs the exact URL it called. Behind the TLS-terminating proxy, request.build_absolute_uri()
    # can see http:// or an internal host and port and would never match, so the public URL is rebuilt
    # from SITE_URL, the same base the status_callback was built from (channels._send_twilio).
    url = settings.SITE_URL + request.get_full_path()
    return RequestValidator(token).validate(url, request.POST, signature)


@csrf_exempt
@require_POST
def twilio_status(request):
    if not _signed_by_twilio(request):
        return HttpResponseForbidden()
    # An unknown MessageSid is still answered 200: another answer only makes Twilio try again.
    notice_record_provider_status(
        provider_message_id=request.POST.get("MessageSid", ""),
        status=request.POST.get("MessageStatus", ""),
        error_code=request.POST.get("ErrorCode") or None,
    )
    return HttpResponse()


@csrf_exempt
@require_POST
def twilio_inbound(request):
    if not _signed_by_twilio(request):
        return HttpResponseForbidden()
    opted_out = opt_out_keyword(request.POST.get("Body", ""))
    if opted_out is not None:
        sms_opt_out_record(phone=request.POST.get("From", ""), opted_out=opted_out)
    # An empty answer: Twilio itself confirms a STOP or START to the person, and anything else people text
    # to our sending number is not read by anyone, so no reply is promised.
    return HttpResponse(str(MessagingResponse()), content_type="text/xml")
