"""The case desk's web application: the queue, the case page, decisions, precision.

Server-rendered pages (Starlette and Jinja2), no JavaScript. Every page reads the desk's own
store; a decision is built and checked as the CLI builds it (streams/feedback.py), sent to the
feedback topic, and shown once the desk's reader has it back from the topic.

    desk = Desk(settings)          # the store, its reader, the users
    app = desk.app()               # an ASGI application (uvicorn serves it)
"""

import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from kafka import KafkaProducer
from kafka.errors import KafkaError
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from alerts.feedback import Review, suppression_for
from schemas.alert import AlertCategory
from schemas.case import Case
from schemas.feedback import MAX_SUPPRESSION, Decision, Feedback, Suppression
from streams.errors import BrokerError
from streams.feedback import decide
from streams.produce import make_producer
from streams.settings import Settings
from tools.desk.auth import (
    DeskRole,
    Throttle,
    User,
    UsersFileError,
    check_password,
    load_users,
)
from tools.desk.evidence import chart, cli_equivalent, decided_words, listed_matches, marked
from tools.desk.evidence import series as case_series
from tools.desk.store import CaseState, Filters, Store, severity_names
from tools.desk.sync import DeskReader

log = logging.getLogger("tradewatch.desk")
HERE = Path(__file__).resolve().parent
SEEN_TIMEOUT_S = 10.0
"""How long a decision's page waits for the reader to bring the decision back from the topic."""
DECISIONS = (Decision.CONFIRMED, Decision.BENIGN, Decision.SUPPRESS, Decision.ESCALATE)
FILTERS = ("state", "severity", "category", "rule", "party", "route", "reporting_country",
           "since", "until", "search")  # fmt: skip


class Refused(Exception):
    """A request the desk turns down: the status and the one line it says."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Desk:
    def __init__(self, settings: Settings, store: Store | None = None) -> None:
        self.settings = settings
        self.store = store or Store(settings.desk_database)
        self.reader = DeskReader(settings, self.store)
        self._users: dict[str, User] = load_users(settings.desk_users)
        self._users_stamp = self._stamp()
        if not self._users and settings.desk_auth_header is None:
            raise ValueError(
                "the desk has no users: set TRADEWATCH_DESK_USERS to a users file "
                "(tradewatch desk-user NAME --role analyst writes one) or "
                "TRADEWATCH_DESK_AUTH_HEADER for a reverse proxy's sign-on"
            )
        self.throttle = Throttle()
        self.templates = Jinja2Templates(directory=HERE / "templates")
        self.templates.env.globals.update(
            severities=severity_names(),
            categories=[c.value for c in AlertCategory],
            states=[s.value for s in CaseState],
        )
        self._producer: KafkaProducer | None = None
        secret = self.store.meta("session_secret")
        if secret is None:
            secret = secrets.token_urlsafe(32)
            self.store.set_meta("session_secret", secret)
        self.secret = secret

    def _stamp(self) -> tuple[int, int] | None:
        path = self.settings.desk_users
        try:
            stat = path.stat() if path is not None else None
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size) if stat is not None else None

    @property
    def users(self) -> dict[str, User]:
        """The users file as it is now: a changed file is read again (a user removed or their
        role changed takes effect at their next request); one that cannot be read keeps the
        users as they were, and says so in the log."""
        stamp = self._stamp()
        if stamp != self._users_stamp:
            self._users_stamp = stamp
            try:
                self._users = load_users(self.settings.desk_users)
            except UsersFileError as exc:
                log.warning("desk: kept the users as they were: %s", exc)
        return self._users

    # -- the application --------------------------------------------------------------------

    def app(self, start_reader: bool = True) -> Starlette:
        @contextlib.asynccontextmanager
        async def lifespan(_: Starlette) -> AsyncIterator[None]:
            if start_reader:
                self.reader.start()
            try:
                yield
            finally:
                self.reader.stop()
                if self._producer is not None:
                    self._producer.close(timeout=10)

        routes = [
            Route("/", self._page(self.queue)),
            Route("/login", self._page(self.login, public=True), methods=["GET", "POST"]),
            Route("/logout", self._page(self.logout), methods=["POST"]),
            Route("/cases/{case_id}", self._page(self.case)),
            Route("/cases/{case_id}/decide", self._page(self.decide), methods=["POST"]),
            Route("/decisions/{feedback_id}/{action}", self._page(self.refer), methods=["POST"]),
            Route("/precision", self._page(self.precision)),
            Route("/healthz", self.health),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ]
        middleware = [
            Middleware(
                SessionMiddleware,
                secret_key=self.secret,
                session_cookie="tradewatch_desk",
                max_age=int(self.settings.desk_session_hours * 3600),
                same_site="strict",
                https_only=self.settings.desk_secure_cookies,
            )
        ]
        return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)

    def _page(
        self, handler: Callable[..., Awaitable[Response]], public: bool = False
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                user = self.user(request)
                if user is None and not public:
                    return RedirectResponse(f"/login?{urlencode({'next': request.url.path})}", 303)
                if request.method == "POST":
                    form = await request.form()
                    sent = str(form.get("csrf", ""))
                    if not secrets.compare_digest(sent, self.csrf(request)):
                        raise Refused(403, "the form has expired or did not come from this desk: "
                                      "open the page again")  # fmt: skip
                    response = await handler(request, user, form)
                else:
                    response = await handler(request, user)
            except Refused as refused:
                context = {"user": self.user(request), "message": refused.message}
                response = self.render(request, "refused.html", context, status=refused.status)
            response.headers.update(SECURITY_HEADERS)
            return response

        return endpoint

    def user(self, request: Request) -> User | None:
        header = self.settings.desk_auth_header
        if header is not None:
            name = request.headers.get(header)
            if not name:
                return None
            known = self.users.get(name)
            return User(name, known.role if known else DeskRole.VIEWER)
        name = request.session.get("user")
        return self.users.get(name) if isinstance(name, str) else None

    def csrf(self, request: Request) -> str:
        token = request.session.get("csrf")
        if not isinstance(token, str):
            token = secrets.token_urlsafe(24)
            request.session["csrf"] = token
        return token

    def render(
        self, request: Request, template: str, context: dict[str, Any], status: int = 200
    ) -> Response:
        reader = self.reader
        return self.templates.TemplateResponse(
            request,
            template,
            {
                "csrf": self.csrf(request),
                "behind": reader.behind,
                "reader_error": reader.error,
                "auth_header": self.settings.desk_auth_header,
                **context,
            },
            status_code=status,
        )

    # -- pages ------------------------------------------------------------------------------

    async def login(self, request: Request, user: User | None, form: Any = None) -> Response:
        target = request.query_params.get("next", "/")
        target = target if target.startswith("/") and not target.startswith("//") else "/"
        if self.settings.desk_auth_header is not None:
            raise Refused(401, f"sign in through your single sign-on: the desk reads "
                          f"{self.settings.desk_auth_header} from it")  # fmt: skip
        if form is None:
            return self.render(request, "login.html", {"user": user, "next": target})
        name = str(form.get("username", "")).strip()
        password = str(form.get("password", ""))
        known = self.users.get(name)
        if self.throttle.locked(name):
            error = "too many wrong passwords: try again in a few minutes"
        elif known is None or not known.password or not check_password(password, known.password):
            self.throttle.failed(name)
            error = "unknown user or wrong password"
        else:
            self.throttle.passed(name)
            request.session.clear()
            request.session["user"] = name
            log.info("desk: %s signed in as %s", name, known.role.value)
            return RedirectResponse(target, 303)
        return self.render(
            request, "login.html", {"user": None, "next": target, "error": error}, status=401
        )

    async def logout(self, request: Request, user: User | None, form: Any) -> Response:
        request.session.clear()
        return RedirectResponse("/login", 303)

    async def queue(self, request: Request, user: User) -> Response:
        params = request.query_params
        filters = Filters(**{k: (params.get(k) or "").strip() or None for k in FILTERS})
        try:
            page = int(params.get("page", "1"))
        except ValueError:
            page = 1
        queue = self.store.queue(filters, page)
        shown = {k: v for k, v in filters.__dict__.items() if v}

        def link(**changes: Any) -> str:
            query = {**shown, **{k: v for k, v in changes.items() if v is not None}}
            for key in [k for k, v in changes.items() if v is None]:
                query.pop(key, None)
            return "/?" + urlencode(query)

        return self.render(
            request,
            "queue.html",
            {"user": user, "queue": queue, "filters": filters, "link": link},
        )

    def _missing(self, case_id: str) -> Refused:
        return Refused(404, f"case {case_id} is not in the desk's store (read from "
                       f"{self.settings.topic_cases}): there is nothing to decide")  # fmt: skip

    def _case_or_404(self, case_id: str) -> tuple[Case, str]:
        found = self.store.case(case_id)
        if found is None:
            raise self._missing(case_id)
        return found

    async def case(
        self, request: Request, user: User, error: str = "", status: int = 200
    ) -> Response:
        case_id = request.path_params["case_id"]
        found = self.store.case_page(case_id)
        if found is None:
            raise self._missing(case_id)
        case, state, decisions = found
        metric, points = case_series(case)
        words = decided_words(case)
        goods = [(d, marked(d.goods_description, words)) for d in case.declarations]
        return self.render(
            request,
            "case.html",
            {
                "user": user,
                "case": case,
                "state": state,
                "goods": goods,
                "matches": listed_matches(case),
                "metric": metric,
                "points": points,
                "chart": chart(points),
                "decisions": decisions,
                "rules": sorted({f.rule_id for f in case.findings}),
                "decision_kinds": [d.value for d in DECISIONS],
                "cli": {
                    d.value: cli_equivalent(
                        case.case_id, d.value, suppress_days=90 if d is Decision.SUPPRESS else None
                    )
                    for d in DECISIONS
                },
                "flash": request.session.pop("flash", None),
                "error": error,
                "max_days": MAX_SUPPRESSION.days,
            },
            status=status,
        )

    async def decide(self, request: Request, user: User, form: Any) -> Response:
        self._may_decide(user)
        case, _ = self._case_or_404(request.path_params["case_id"])
        try:
            feedback = self._feedback(case, user, form)
        except (ValueError, ValidationError) as exc:
            message = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
            return await self.case(request, user, error=message, status=400)
        outcome = self._outcome(case, feedback)
        self._send(feedback)
        request.session["flash"] = outcome
        return RedirectResponse(f"/cases/{case.case_id}", 303)

    async def refer(self, request: Request, user: User, form: Any) -> Response:
        """Approve or revoke a decision (a supervisor approves, never their own decision)."""
        self._may_decide(user)
        action = request.path_params["action"]
        referred = self.store.decision(request.path_params["feedback_id"])
        if referred is None or action not in ("approve", "revoke"):
            raise Refused(404, "no such decision on this desk")
        if action == "approve":
            if user.role is not DeskRole.SUPERVISOR:
                raise Refused(403, "only a supervisor approves a suppression")
            if referred.analyst == user.name:
                raise Refused(403, "a supervisor approves another person's decision, not their own")
        reason = str(form.get("reason", "")).strip()
        if not reason:
            raise Refused(400, "say why: the reason is kept with the decision for good")
        feedback = decide(
            referred.case_id, Decision(action), reason, user.name,
            role=user.role.feedback_role, refers_to=referred.feedback_id,
        )  # fmt: skip
        self._send(feedback)
        request.session["flash"] = f"{action} of {referred.feedback_id} recorded"
        return RedirectResponse(f"/cases/{referred.case_id}", 303)

    async def precision(self, request: Request, user: User) -> Response:
        try:
            days = min(max(int(request.query_params.get("days", "30")), 1), 3660)
        except ValueError:
            days = 30
        until = datetime.now(UTC)
        rows = self.store.precision(until - timedelta(days=days), until + timedelta(seconds=1))
        return self.render(request, "precision.html", {"user": user, "rows": rows, "days": days})

    async def health(self, request: Request) -> Response:
        reader = self.reader
        body = {
            "behind": reader.behind,
            "read": reader.read,
            "skipped": reader.skipped,
            "error": reader.error,
        }
        return JSONResponse(body, status_code=200 if reader.error is None else 503)

    # -- decisions --------------------------------------------------------------------------

    @staticmethod
    def _may_decide(user: User) -> None:
        if not user.role.decides:
            raise Refused(403, f"{user.name} is a viewer: only analysts and supervisors decide")

    def _feedback(self, case: Case, user: User, form: Any) -> Feedback:
        try:
            decision = Decision(str(form.get("decision", "")))
        except ValueError:
            raise ValueError("choose a decision: confirmed, benign, suppress or escalate") from None
        if decision not in DECISIONS:
            raise ValueError("choose a decision: confirmed, benign, suppress or escalate")
        reason = str(form.get("reason", "")).strip()
        if not reason:
            raise ValueError("say why: the reason is kept with the decision for good")
        now = datetime.now(UTC)
        suppresses = decision is Decision.SUPPRESS or (
            decision is Decision.BENIGN and form.get("suppress") == "on"
        )
        return decide(
            case.case_id, decision, reason, user.name, now=now, role=user.role.feedback_role,
            suppression=self._suppression(case, form, now) if suppresses else None,
        )  # fmt: skip

    @staticmethod
    def _suppression(case: Case, form: Any, now: datetime) -> Suppression:
        try:
            days = int(str(form.get("days", "")))
        except ValueError:
            raise ValueError("the suppression's days must be a whole number") from None
        if not 1 <= days <= MAX_SUPPRESSION.days:
            raise ValueError(f"a suppression lasts 1 to {MAX_SUPPRESSION.days} days")
        # The case's own suppression, narrowed to the rules and scope keys left ticked.
        own = suppression_for(case, now, now + timedelta(days=days))
        chosen = set(form.getlist("rule"))
        rules = [r for r in own.rule_ids if r in chosen]
        if not rules:
            raise ValueError("a suppression names at least one of the case's rules")
        match = {k: v for k, v in own.match.items() if form.get(f"scope_{k}") == "on"}
        if not match:
            raise ValueError("a suppression keeps at least one key of the case's scope")
        listed = {f.rule_id for f in case.findings if f.category is AlertCategory.RESTRICTED_PARTY}
        entries = own.entries if listed & set(rules) else []
        return Suppression(
            **own.model_dump(exclude={"rule_ids", "match", "entries"}),
            rule_ids=rules,
            match=match,
            entries=entries,
        )

    def _outcome(self, case: Case, feedback: Feedback) -> str:
        """What the review will make of it, by the worker's review rules (alerts/feedback.py),
        told before it is sent."""
        said = f"{feedback.decision.value} recorded as {feedback.feedback_id}"
        if feedback.suppression is None:
            return said
        review = Review()
        review.with_case(case)
        for view in self.store.decisions(case.case_id):
            with contextlib.suppress(ValueError):
                review.with_feedback(view.feedback)
        review.take_rulings()
        review.with_feedback(feedback)
        ruled = [r for r in review.take_rulings() if r.feedback.feedback_id == feedback.feedback_id]
        if ruled and ruled[0].reason:
            return f"{said}; its suppression is {ruled[0].status.value}: {ruled[0].reason}"
        until = feedback.suppression.expires_at
        return f"{said}; its suppression is in force until {until:%Y-%m-%d}"

    def _send(self, feedback: Feedback) -> None:
        topic = self.settings.topic_feedback
        try:
            if self._producer is None:
                self._producer = make_producer(self.settings)
            self._producer.send(
                topic, key=feedback.case_id.encode(), value=feedback.model_dump_json().encode()
            ).get(timeout=30)
        except (KafkaError, BrokerError) as exc:
            raise Refused(503, f"could not send the decision to {topic}: {exc}; nothing was "
                          "recorded, try again") from None  # fmt: skip
        log.info(
            "desk: %s (%s) decided %s on case %s as %s",
            feedback.analyst, feedback.role.value, feedback.decision.value, feedback.case_id,
            feedback.feedback_id,
        )  # fmt: skip
        self.reader.wait_for(
            lambda: self.store.decision(feedback.feedback_id) is not None, SEEN_TIMEOUT_S
        )


SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
