"""A local fake of the parts of Stripe's API the product calls, for tests and the demo. It never talks to
anything but 127.0.0.1.

In a test, use the `fake_stripe` fixture (root conftest.py), or run it in a thread::

    with FakeStripe() as stripe_fake:
        for name, value in stripe_fake.settings().items():
            setattr(settings, name, value)
        ...
        assert stripe_fake.requests_to("/v1/refunds")[0]["idempotency_key"] == "refund-1"

For the demo, as its own process (Ctrl-C stops it)::

    python -m tests.support.fake_stripe --port 12111 --webhook-url http://127.0.0.1:8000/webhooks/stripe/

It prints the environment to start the site with (STRIPE_SECRET_KEY, STRIPE_API_BASE_URL,
STRIPE_WEBHOOK_SECRET). Connecting Stripe then leads to the fake's onboarding page, and a participant's
Pay button to its checkout page: "Pay" there marks the Checkout Session paid, delivers the signed
checkout.session.completed event to the site's webhook, and returns the browser to the site.

What it answers, as the official SDK sends it (form-encoded POSTs, Bearer key, Stripe-Account and
Idempotency-Key headers), with JSON objects shaped like Stripe's:

* accounts (create, retrieve) and account_links (create);
* checkout.sessions (create, retrieve, expire), with `url`, `status`, `payment_status`, `payment_intent`;
* refunds (create, against a paid payment intent, never more than was paid; retrieve);
* customers, invoiceitems, invoices (create, retrieve, finalize, send).

Objects live on the connected account named by Stripe-Account: another account cannot see them (404). Every
request is recorded (`requests`: method, path, form params flattened as sent, stripe_account,
idempotency_key, status, replayed). An Idempotency-Key is honoured as Stripe does for API v1: the same key
on the same account replays the first answer (no second refund, no second charge), the same key with other
params is a 400 idempotency_error.

Failures are scriptable: ``fail_next(times=N, status=500)`` answers the next N API requests with that
status before doing anything (as an outage at Stripe's edge; nothing is saved under the key, so a retry
does the work once), and ``drop_next()`` does the work and then drops the connection without an answer
(a response lost on the way back: the retry with the same key gets the saved answer).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import html
import json
import re
import signal
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.error import HTTPError
from urllib.parse import parse_qsl, urlsplit
from urllib.request import Request, urlopen

SECRET_KEY = "sk_test_fake_" + "0123456789abcdef" * 2
WEBHOOK_SECRET = "whsec_fake_" + "fedcba9876543210" * 2
API_VERSION = "2025-09-30.clover"
CONTROL_PREFIX = "/_fake/"


def sign(payload: str, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The Stripe-Signature header Stripe sends with a webhook: t=<unix time>,v1=<HMAC-SHA256 of "t.body">."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _nest(pairs: list[tuple[str, str]]) -> dict:
    """Form params as Stripe reads them: a[b][0][c]=x becomes {"a": {"b": [{"c": "x"}]}}."""
    root: dict = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if isinstance(node, list):
                position = int(part)
                while len(node) <= position:
                    node.append({})
                if last:
                    node[position] = value
                else:
                    if not isinstance(node[position], (dict, list)) or node[position] == {}:
                        node[position] = [] if parts[index + 1].isdigit() else {}
                    node = node[position]
            elif last:
                node[part] = value
            else:
                node = node.setdefault(part, [] if parts[index + 1].isdigit() else {})
    return root


class StripeFakeError(Exception):
    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error", param: str = ""):
        super().__init__(message)
        self.status, self.message, self.type, self.param = status, message, type, param

    def body(self) -> dict:
        error = {"type": self.type, "message": self.message}
        if self.param:
            error["param"] = self.param
        return {"error": error}


@dataclass
class _Fault:
    status: int
    remaining: int
    drop: bool = False
    path: str = ""


class _Server(ThreadingHTTPServer):
    request_queue_size = 64
    daemon_threads = True


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


class FakeStripe:
    """The fake server. Use as a context manager, or call start() and stop()."""

    def __init__(self, *, port: int = 0, webhook_url: str = "", webhook_secret: str = WEBHOOK_SECRET):
        self._requested_port = port
        # Where the checkout and onboarding pages deliver their events (the site's /webhooks/stripe/).
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        # A new refund's status: "succeeded" (cards, at once) or "pending" (finished by refund.updated).
        self.refund_status = "succeeded"
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.reset()

    # --- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> FakeStripe:
        if self._server is not None:
            raise RuntimeError("The fake Stripe is already running.")
        self._server = _Server(("127.0.0.1", self._requested_port), _handler_for(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="fake-stripe", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeStripe:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("The fake Stripe is not running.")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def settings(self) -> dict[str, str]:
        """Django settings that point the project's Stripe client and webhook at this fake."""
        return {
            "STRIPE_SECRET_KEY": SECRET_KEY,
            "STRIPE_API_BASE_URL": self.url,
            "STRIPE_WEBHOOK_SECRET": self.webhook_secret,
        }

    # --- scripting -------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every object, request, saved idempotent answer and scripted failure."""
        with self._lock:
            self.objects: dict[str, dict] = {}
            self._owner: dict[str, str] = {}
            self._requests: list[dict] = []
            self._idempotent: dict[tuple[str, str], dict] = {}
            self._faults: list[_Fault] = []
            self._links: dict[str, dict] = {}
            self.delivered: list[dict] = []

    def fail_next(self, times: int = 1, *, status: int = 500, path: str = "") -> None:
        """Answer the next `times` API requests (those to `path...` only, when given) with `status`, before
        doing anything."""
        with self._lock:
            self._faults.append(_Fault(status=status, remaining=times, path=path))

    def drop_next(self, times: int = 1, *, path: str = "") -> None:
        """Do the work of the next `times` API requests (to `path...`), then hang up without answering."""
        with self._lock:
            self._faults.append(_Fault(status=0, remaining=times, drop=True, path=path))

    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if path.startswith(fault.path):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
            return None

    # --- what was seen ---------------------------------------------------------------------------------

    @property
    def requests(self) -> list[dict]:
        """Every API request, oldest first (a copy)."""
        with self._lock:
            return [dict(r) for r in self._requests]

    def requests_to(self, path: str, method: str | None = None) -> list[dict]:
        """The requests whose path starts with `path` (and of that method)."""
        return [
            r
            for r in self.requests
            if r["path"].startswith(path) and (method is None or r["method"] == method)
        ]

    def of_type(self, object_type: str) -> list[dict]:
        """Every object of one kind ("refund", "checkout.session", "invoice"...), oldest first."""
        with self._lock:
            return [json.loads(json.dumps(o)) for o in self.objects.values() if o["object"] == object_type]

    def get(self, object_id: str) -> dict:
        with self._lock:
            return json.loads(json.dumps(self.objects[object_id]))

    def account_of(self, object_id: str) -> str:
        return self._owner.get(object_id, "")

    # --- what happens at Stripe without us: a person paying, an account set up ---------------------------

    def enable_account(self, account_id: str) -> dict:
        """The organisation finished onboarding: its account can take payments."""
        with self._lock:
            account = self.objects[account_id]
            account.update(charges_enabled=True, details_submitted=True, payouts_enabled=True)
            return dict(account)

    def mark_paid(self, checkout_session_id: str) -> dict:
        """A person paid on the Checkout page: the session completes with a payment intent."""
        with self._lock:
            session = self.objects[checkout_session_id]
            if session["status"] != "open":
                raise ValueError(f"Checkout Session {checkout_session_id} is {session['status']}")
            account = self._owner.get(checkout_session_id, "")
            intent = self._store(
                {
                    "id": _new_id("pi"),
                    "object": "payment_intent",
                    "amount": session["amount_total"],
                    "amount_received": session["amount_total"],
                    "amount_refunded": 0,
                    "currency": session["currency"],
                    "status": "succeeded",
                    "latest_charge": _new_id("ch"),
                    "metadata": dict(session.get("payment_intent_data_metadata") or {}),
                },
                account,
            )
            session.update(status="complete", payment_status="paid", payment_intent=intent["id"])
            return json.loads(json.dumps(session))

    def finish_refund(self, refund_id: str, *, status: str = "succeeded", failure_reason: str = "") -> dict:
        """A refund Stripe answered "pending" is done (or has failed), as its next retrieval shows."""
        with self._lock:
            refund = self.objects[refund_id]
            refund["status"] = status
            if failure_reason:
                refund["failure_reason"] = failure_reason
            return json.loads(json.dumps(refund))

    def pay_invoice(self, invoice_id: str) -> dict:
        with self._lock:
            invoice = self.objects[invoice_id]
            invoice.update(status="paid", amount_paid=invoice["amount_due"], amount_remaining=0)
            return json.loads(json.dumps(invoice))

    # --- webhooks ----------------------------------------------------------------------------------------

    def event(self, type: str, obj: dict, *, account: str | None = None, event_id: str | None = None) -> dict:
        """An Event as Stripe sends it to a Connect webhook endpoint (`account`: the connected account)."""
        event = {
            "id": event_id or _new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "data": {"object": json.loads(json.dumps(obj))},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": type,
        }
        account = account if account is not None else self._owner.get(obj.get("id", ""), "")
        if account:
            event["account"] = account
        return event

    def checkout_completed_event(self, checkout_session_id: str) -> dict:
        return self.event("checkout.session.completed", self.get(checkout_session_id))

    def signed(
        self, event: dict, *, secret: str | None = None, timestamp: int | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """The body and headers of a webhook delivery, signed with the endpoint's secret (or another, for a
        forgery; or an old timestamp, for a replay)."""
        payload = json.dumps(event)
        header = sign(payload, secret=secret or self.webhook_secret, timestamp=timestamp)
        return payload.encode(), {"Content-Type": "application/json", "Stripe-Signature": header}

    def deliver(self, event: dict, url: str | None = None, **signing) -> int:
        """POST a signed event to the site's webhook; returns the HTTP status it answered."""
        body, headers = self.signed(event, **signing)
        request = Request(url or self.webhook_url, data=body, headers=headers, method="POST")
        try:
            with urlopen(request, timeout=10) as response:
                status = response.status
        except HTTPError as exc:
            status = exc.code
        with self._lock:
            self.delivered.append({"event": event["id"], "type": event["type"], "status": status})
        return status

    # --- the API -------------------------------------------------------------------------------------------

    def _store(self, obj: dict, account: str) -> dict:
        obj.setdefault("created", int(time.time()))
        obj.setdefault("livemode", False)
        self.objects[obj["id"]] = obj
        self._owner[obj["id"]] = account
        return obj

    def _find(self, object_id: str, account: str, object_type: str) -> dict:
        obj = self.objects.get(object_id)
        if obj is None or obj["object"] != object_type or self._owner.get(object_id, "") != account:
            raise StripeFakeError(404, f"No such {object_type.split('.')[-1]}: '{object_id}'", param="id")
        return obj

    def handle(self, method: str, path: str, params: dict, account: str) -> tuple[int, dict]:
        """One API request (already authenticated and past the idempotency layer)."""
        routes = [
            ("POST", r"/v1/accounts", self._account_create),
            ("GET", r"/v1/accounts/(?P<id>[\w]+)", self._account_retrieve),
            ("POST", r"/v1/account_links", self._account_link_create),
            ("POST", r"/v1/checkout/sessions", self._checkout_create),
            ("GET", r"/v1/checkout/sessions/(?P<id>[\w]+)", self._checkout_retrieve),
            ("POST", r"/v1/checkout/sessions/(?P<id>[\w]+)/expire", self._checkout_expire),
            ("POST", r"/v1/refunds", self._refund_create),
            ("GET", r"/v1/refunds/(?P<id>[\w]+)", self._refund_retrieve),
            ("POST", r"/v1/customers", self._customer_create),
            ("POST", r"/v1/invoiceitems", self._invoice_item_create),
            ("POST", r"/v1/invoices", self._invoice_create),
            ("GET", r"/v1/invoices/(?P<id>[\w]+)", self._invoice_retrieve),
            ("POST", r"/v1/invoices/(?P<id>[\w]+)/finalize", self._invoice_finalize),
            ("POST", r"/v1/invoices/(?P<id>[\w]+)/send", self._invoice_send),
        ]
        for route_method, pattern, action in routes:
            match = re.fullmatch(pattern, path)
            if match and route_method == method:
                with self._lock:
                    return 200, json.loads(json.dumps(action(params, account, **match.groupdict())))
        raise StripeFakeError(404, f"Unrecognized request URL ({method}: {path}).")

    def _account_create(self, params, account):
        if account:
            raise StripeFakeError(400, "Connected accounts are created by the platform, not on an account.")
        return self._store(
            {
                "id": _new_id("acct"),
                "object": "account",
                "type": params.get("type", "standard"),
                "charges_enabled": False,
                "payouts_enabled": False,
                "details_submitted": False,
                "metadata": params.get("metadata", {}),
            },
            "",
        )

    def _account_retrieve(self, params, account, id):
        return self._find(id, "", "account")

    def _account_link_create(self, params, account):
        connected = self._find(params.get("account", ""), "", "account")
        for name in ("return_url", "refresh_url", "type"):
            if not params.get(name):
                raise StripeFakeError(400, f"Missing required param: {name}.", param=name)
        link_id = _new_id("acctlink")
        link = {
            "object": "account_link",
            "created": int(time.time()),
            "expires_at": int(time.time()) + 300,
            "url": f"{self.url}/connect/onboard/{link_id}",
        }
        self._links[link_id] = {"account": connected["id"], "return_url": params["return_url"]}
        return link

    def _checkout_create(self, params, account):
        if params.get("mode") != "payment":
            raise StripeFakeError(400, "Only mode=payment is faked.", param="mode")
        items = params.get("line_items") or []
        if len(items) != 1 or "price_data" not in items[0]:
            raise StripeFakeError(400, "Give one line item with price_data.", param="line_items")
        price = items[0]["price_data"]
        try:
            amount = int(price["unit_amount"]) * int(items[0].get("quantity", 1))
        except (KeyError, ValueError) as exc:
            raise StripeFakeError(400, "Invalid unit_amount.", param="line_items[0][price_data]") from exc
        if not price.get("currency") or not (price.get("product_data") or {}).get("name"):
            raise StripeFakeError(400, "Give a currency and a product name.", param="line_items")
        for name in ("success_url", "cancel_url"):
            if not params.get(name):
                raise StripeFakeError(400, f"Missing required param: {name}.", param=name)
        session_id = "cs_test_" + uuid.uuid4().hex
        return self._store(
            {
                "id": session_id,
                "object": "checkout.session",
                "mode": "payment",
                "url": f"{self.url}/c/pay/{session_id}",
                "status": "open",
                "payment_status": "unpaid",
                "payment_intent": None,
                "amount_subtotal": amount,
                "amount_total": amount,
                "currency": price["currency"],
                "product_name": price["product_data"]["name"],
                "client_reference_id": params.get("client_reference_id"),
                "customer_email": params.get("customer_email"),
                "metadata": params.get("metadata", {}),
                "payment_intent_data_metadata": (params.get("payment_intent_data") or {}).get("metadata", {}),
                "success_url": params["success_url"],
                "cancel_url": params["cancel_url"],
                "expires_at": int(time.time()) + 24 * 3600,
            },
            account,
        )

    def _checkout_retrieve(self, params, account, id):
        return self._find(id, account, "checkout.session")

    def _checkout_expire(self, params, account, id):
        session = self._find(id, account, "checkout.session")
        if session["status"] != "open":
            raise StripeFakeError(400, "Only Checkout Sessions with a status of open can be expired.")
        session["status"] = "expired"
        return session

    def _refund_create(self, params, account):
        intent = self._find(params.get("payment_intent", ""), account, "payment_intent")
        amount = int(params.get("amount") or intent["amount"] - intent["amount_refunded"])
        if amount <= 0 or amount > intent["amount"] - intent["amount_refunded"]:
            raise StripeFakeError(
                400, f"Refund amount ({amount}) is greater than unrefunded amount on charge.", param="amount"
            )
        intent["amount_refunded"] += amount
        return self._store(
            {
                "id": _new_id("re"),
                "object": "refund",
                "amount": amount,
                "currency": intent["currency"],
                "payment_intent": intent["id"],
                "charge": intent["latest_charge"],
                "reason": params.get("reason"),
                "status": self.refund_status,
                "metadata": params.get("metadata", {}),
            },
            account,
        )

    def _refund_retrieve(self, params, account, id):
        return self._find(id, account, "refund")

    def _customer_create(self, params, account):
        return self._store(
            {
                "id": _new_id("cus"),
                "object": "customer",
                "email": params.get("email"),
                "name": params.get("name"),
                "metadata": params.get("metadata", {}),
            },
            account,
        )

    def _invoice_create(self, params, account):
        customer = self._find(params.get("customer", ""), account, "customer")
        if params.get("collection_method") == "send_invoice" and not (
            params.get("due_date") or params.get("days_until_due")
        ):
            raise StripeFakeError(
                400, "Invoices sent by email need due_date or days_until_due.", param="due_date"
            )
        return self._store(
            {
                "id": _new_id("in"),
                "object": "invoice",
                "customer": customer["id"],
                "customer_email": customer["email"],
                "status": "draft",
                "collection_method": params.get("collection_method", "charge_automatically"),
                "due_date": int(params["due_date"]) if params.get("due_date") else None,
                "days_until_due": int(params["days_until_due"]) if params.get("days_until_due") else None,
                "currency": params.get("currency", "eur"),
                "description": params.get("description"),
                "auto_advance": params.get("auto_advance") == "true",
                "metadata": params.get("metadata", {}),
                "amount_due": 0,
                "amount_paid": 0,
                "amount_remaining": 0,
                "lines": {"object": "list", "data": []},
                "hosted_invoice_url": None,
                "sent": False,
            },
            account,
        )

    def _invoice_item_create(self, params, account):
        customer = self._find(params.get("customer", ""), account, "customer")
        item = {
            "id": _new_id("ii"),
            "object": "invoiceitem",
            "customer": customer["id"],
            "amount": int(params.get("amount", 0)),
            "currency": params.get("currency"),
            "description": params.get("description"),
            "invoice": params.get("invoice"),
        }
        if item["invoice"]:
            invoice = self._find(item["invoice"], account, "invoice")
            if invoice["status"] != "draft":
                raise StripeFakeError(400, "Items can only be added to a draft invoice.", param="invoice")
            invoice["lines"]["data"].append({"id": item["id"], "amount": item["amount"]})
            invoice["amount_due"] += item["amount"]
            invoice["amount_remaining"] = invoice["amount_due"]
        return self._store(item, account)

    def _invoice_retrieve(self, params, account, id):
        return self._find(id, account, "invoice")

    def _invoice_finalize(self, params, account, id):
        invoice = self._find(id, account, "invoice")
        if invoice["status"] != "draft":
            raise StripeFakeError(400, "This invoice is already finalized.")
        invoice.update(status="open", hosted_invoice_url=f"{self.url}/i/{id}", number=f"FAKE-{id[-6:]}")
        return invoice

    def _invoice_send(self, params, account, id):
        invoice = self._find(id, account, "invoice")
        if invoice["status"] not in ("open", "paid"):
            raise StripeFakeError(400, "Only open invoices can be sent.")
        invoice["sent"] = True
        return invoice

    # --- the idempotency layer -------------------------------------------------------------------------

    def serve(self, method: str, path: str, params: dict, flat: dict, account: str, key: str):
        """Answer one authenticated API request through Stripe's idempotency layer. Returns (status, body,
        replayed)."""
        fingerprint = json.dumps([method, path, flat], sort_keys=True)
        if key and method == "POST":
            with self._lock:
                saved = self._idempotent.get((account, key))
            if saved is not None:
                if saved["fingerprint"] != fingerprint:
                    error = StripeFakeError(
                        400,
                        "Keys for idempotent requests can only be used with the same parameters they were "
                        f"first used with. Try using a key other than '{key}' if you meant to execute a "
                        "different request.",
                        type="idempotency_error",
                    )
                    return 400, error.body(), False
                return saved["status"], saved["body"], True
        try:
            status, body = self.handle(method, path, params, account)
        except StripeFakeError as exc:
            status, body = exc.status, exc.body()
        if key and method == "POST":
            with self._lock:
                self._idempotent[(account, key)] = {
                    "fingerprint": fingerprint,
                    "status": status,
                    "body": body,
                }
        return status, body, False

    def _record(self, entry: dict) -> None:
        with self._lock:
            self._requests.append(entry)

    # --- the pages a person sees at Stripe ------------------------------------------------------------

    def checkout_page(self, session_id: str) -> str:
        session = self.objects.get(session_id)
        if session is None or session["object"] != "checkout.session":
            return ""
        amount = f"{session['amount_total'] / 100:.2f} {session['currency'].upper()}"
        if session["status"] != "open":
            body = f"<p>This payment page is {html.escape(session['status'])}.</p>"
        else:
            body = (
                f"<p>{html.escape(session['product_name'])}</p><p><strong>{amount}</strong></p>"
                f'<form method="post"><button type="submit">Pay {amount}</button></form>'
                f'<p><a href="{html.escape(session["cancel_url"])}">Back without paying</a></p>'
            )
        return _page("Pay (fake Stripe Checkout)", body)

    def checkout_pay(self, session_id: str) -> str | None:
        """The Pay button: the session is paid, its event delivered; returns where the browser goes."""
        try:
            session = self.mark_paid(session_id)
        except (KeyError, ValueError):
            return None
        if self.webhook_url:
            self.deliver(self.event("checkout.session.completed", session))
        return session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id)

    def onboarding_page(self, link_id: str) -> str:
        link = self._links.get(link_id)
        if link is None:
            return ""
        body = (
            f"<p>Account {html.escape(link['account'])}</p>"
            '<form method="post"><button type="submit">Finish setup</button></form>'
        )
        return _page("Set up payments (fake Stripe)", body)

    def onboarding_finish(self, link_id: str) -> str | None:
        link = self._links.get(link_id)
        if link is None:
            return None
        account = self.enable_account(link["account"])
        if self.webhook_url:
            self.deliver(self.event("account.updated", account, account=account["id"]))
        return link["return_url"]


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>'
        f"<body><h1>{title}</h1>{body}</body></html>"
    )


def _handler_for(fake: FakeStripe) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "FakeStripe/1.0"
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):
            pass  # keep test output quiet

        def _send(self, status: int, data: bytes, content_type: str, headers: dict | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _json(self, status: int, payload, headers: dict | None = None) -> None:
            self._send(status, json.dumps(payload).encode(), "application/json", headers)

        def _html(self, status: int, text: str) -> None:
            self._send(status, text.encode(), "text/html; charset=utf-8")

        def _redirect(self, location: str) -> None:
            self._send(303, b"", "text/plain", {"Location": location})

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def do_GET(self):
            self._dispatch("GET")

        def do_POST(self):
            self._dispatch("POST")

        def _dispatch(self, method: str) -> None:
            parts = urlsplit(self.path)
            path, raw = parts.path, (self._body() if method == "POST" else parts.query.encode())
            if path.startswith(CONTROL_PREFIX):
                return self._control(method, path[len(CONTROL_PREFIX) :], raw)
            if page := re.fullmatch(r"/c/pay/([\w]+)", path):
                return self._checkout(method, page.group(1))
            if page := re.fullmatch(r"/connect/onboard/([\w]+)", path):
                return self._onboarding(method, page.group(1))
            return self._api(method, path, raw)

        def _api(self, method: str, path: str, raw: bytes) -> None:
            pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True)
            flat = dict(pairs)
            account = self.headers.get("Stripe-Account") or ""
            key = self.headers.get("Idempotency-Key") or ""
            entry = {
                "method": method,
                "path": path,
                "params": flat,
                "stripe_account": account,
                "idempotency_key": key,
                "replayed": False,
            }
            authorization = self.headers.get("Authorization") or ""
            if not authorization.startswith("Bearer sk_test_"):
                fake._record({**entry, "status": 401})
                return self._json(401, StripeFakeError(401, "Invalid API Key provided.").body())
            fault = fake._take_fault(path)
            if fault is not None and not fault.drop:
                fake._record({**entry, "status": fault.status})
                error = StripeFakeError(fault.status, "An error occurred (fake).", type="api_error")
                return self._json(fault.status, error.body())
            status, body, replayed = fake.serve(method, path, _nest(pairs), flat, account, key)
            if fault is not None:
                fake._record({**entry, "status": "dropped", "done": status})
                self.close_connection = True
                self.connection.shutdown(2)
                return None
            fake._record({**entry, "status": status, "replayed": replayed})
            headers = {"Request-Id": _new_id("req"), "Stripe-Version": API_VERSION}
            if replayed:
                headers["Idempotent-Replayed"] = "true"
            return self._json(status, body, headers)

        def _checkout(self, method: str, session_id: str) -> None:
            if method == "GET":
                page = fake.checkout_page(session_id)
                return self._html(200 if page else 404, page or _page("Not found", ""))
            location = fake.checkout_pay(session_id)
            if location is None:
                return self._html(410, _page("This payment page has expired", ""))
            return self._redirect(location)

        def _onboarding(self, method: str, link_id: str) -> None:
            if method == "GET":
                page = fake.onboarding_page(link_id)
                return self._html(200 if page else 404, page or _page("Not found", ""))
            location = fake.onboarding_finish(link_id)
            if location is None:
                return self._html(404, _page("Not found", ""))
            return self._redirect(location)

        def _control(self, method: str, command: str, raw: bytes) -> None:
            try:
                options = json.loads(raw or b"{}") if method == "POST" else {}
            except ValueError:
                return self._json(400, {"error": "expected a JSON body"})
            if (method, command) == ("GET", "requests"):
                return self._json(200, fake.requests)
            if (method, command) == ("POST", "reset"):
                fake.reset()
            elif (method, command) == ("POST", "fail"):
                fake.fail_next(
                    int(options.get("times", 1)),
                    status=int(options.get("status", 500)),
                    path=options.get("path", ""),
                )
            elif (method, command) == ("POST", "pay"):
                return self._json(200, fake.mark_paid(options["checkout_session_id"]))
            else:
                return self._json(404, {"error": f"unknown command {command!r}"})
            return self._json(200, {"ok": True})

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=12111, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument(
        "--webhook-url",
        default="http://127.0.0.1:8000/webhooks/stripe/",
        help="the site's Stripe webhook, where the checkout and onboarding pages deliver their events",
    )
    args = parser.parse_args(argv)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with FakeStripe(port=args.port, webhook_url=args.webhook_url) as fake:
        sys.stdout.write(f"fake-stripe listening on {fake.url}; start the site with:\n")
        for name, value in fake.settings().items():
            sys.stdout.write(f"{name}={value}\n")
        sys.stdout.flush()
        while not stop.wait(0.2):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
