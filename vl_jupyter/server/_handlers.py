"""Thin HTTP handlers: parse the request, call the catalogue or the sync engine, write JSON.

Every handler is an authenticated ``APIHandler``: without the server's token or login
cookie a request gets 403, and a cookie-authenticated POST without the XSRF token gets
403 too (jupyter_server's own checks). Errors are JSON ``{"code", "message", "hint"}``.
"""

from __future__ import annotations

import json
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.ioloop import IOLoop

from ..errors import VLError
from ._jobs import SyncJobs, check_settings, check_target
from ._over_time import record_compare, record_history
from ._stores import ApiError, Catalogue

API = "vl-jupyter/api"


class _Handler(APIHandler):
    """Shared plumbing: the catalogue, JSON errors, query parsing."""

    auth_resource = "vl_jupyter"

    def initialize(self, catalogue: Catalogue, jobs: SyncJobs) -> None:
        self.catalogue = catalogue
        self.jobs = jobs

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, web.HTTPError):
            body = {"code": f"HTTP_{status_code}", "message": exc.log_message or self._reason}
        else:
            body = {
                "code": "SERVER_ERROR",
                "message": f"unexpected server error ({type(exc).__name__ if exc else status_code})",
                "hint": "see the Jupyter server log",
            }
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def _execute_error(self, err: ApiError | VLError) -> None:
        # one table for every code (errors.HTTP_STATUS); an ApiError carries its own
        self.set_status(err.http_status)
        body = err.to_dict()
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def arg(self, name: str) -> str | None:
        value = self.get_query_argument(name, None)
        return value if value not in (None, "") else None

    def int_arg(self, name: str, default: int) -> int:
        value = self.arg(name)
        try:
            return default if value is None else int(value)
        except ValueError:
            raise ApiError(400, "BAD_PAGE", f"{name} must be an integer, got {value!r}") from None

    async def off_loop(self, fn: Any, *args: Any) -> Any:
        """Run blocking work (disk walks, verify, network probes) off the event loop."""
        return await IOLoop.current().run_in_executor(None, fn, *args)

    async def reply(self, fn: Any, *args: Any, default: Any = None) -> None:
        """Answer with ``fn(*args)`` (run off the loop) as JSON, or the error it raised."""
        try:
            body = await self.off_loop(fn, *args)
        except (ApiError, VLError) as err:
            return self._execute_error(err)
        self.finish(json.dumps(body, default=default))

    def json_object(self) -> dict[str, Any]:
        """The request body, which must be a JSON object (ApiError BAD_JSON otherwise)."""
        try:
            body = self.get_json_body() or {}
        except web.HTTPError:
            raise ApiError(400, "BAD_JSON", "the request body is not JSON") from None
        if not isinstance(body, dict):
            raise ApiError(400, "BAD_JSON", "the request body must be a JSON object")
        return body


class EvidenceHandler(_Handler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        await self.reply(
            lambda: self.catalogue.page(
                kind=self.arg("kind"),
                exclude_kind=self.arg("exclude_kind"),
                status=self.arg("status"),
                notebook=self.arg("notebook"),
                session=self.arg("session"),
                sync=self.arg("sync"),
                target=self.arg("target"),
                offset=self.int_arg("offset", 0),
                limit=self.int_arg("limit", 50),
            )
        )


class RecordHandler(_Handler):
    @web.authenticated
    @authorized
    async def get(self, record_id: str) -> None:
        await self.reply(self.catalogue.record, record_id, self.arg("store"))


class HistoryHandler(_Handler):
    """A record's controls across the runs of its policy (the sidebar's sparklines)."""

    @web.authenticated
    @authorized
    async def get(self, record_id: str) -> None:
        await self.reply(record_history, self.catalogue, record_id, self.arg("store"))


class CompareHandler(_Handler):
    """A record against a baseline of its store (read-only: no tracker is asked)."""

    @web.authenticated
    @authorized
    async def get(self, record_id: str) -> None:
        baseline, store = self.arg("baseline"), self.arg("store")
        await self.reply(record_compare, self.catalogue, record_id, baseline, store, default=str)


class TargetsHandler(_Handler):
    """Where each tracker is and whether it answers: a probe connects, so POST only.

    A GET would be a cross-site request forgery away (a top-level navigation from any web
    page carries the login cookie, and no XSRF token is checked on GET): the server would
    connect wherever the page's query string said.
    """

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self._execute_error(
            ApiError(
                405,
                "USE_POST",
                "checking the sync targets connects to them, so it takes a POST with the "
                'XSRF token: POST /vl-jupyter/api/targets with {"settings": {...}}',
            )
        )

    @web.authenticated
    @authorized
    async def post(self) -> None:
        try:
            body = self.json_object()
            settings = check_settings(body.get("settings"), self.catalogue.root)
            from ..trackers import targets
        except ImportError as err:
            return self._execute_error(
                ApiError(503, "SYNC_UNAVAILABLE", f"the sync engine could not be loaded: {err}")
            )
        except (ApiError, VLError) as err:
            return self._execute_error(err)
        found = await self.off_loop(lambda: targets(settings, from_request=True))
        self.finish(json.dumps({"targets": [_as_dict(t) for t in found]}))


class TrackersHandler(_Handler):
    """The registered trackers, their labels and the setting keys a browser may send
    (no values: see ``_trackers``). The sidebar builds its sync buttons from it."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        from ._trackers import tracker_list

        await self.reply(tracker_list)


class SyncHandler(_Handler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        try:
            body = self.json_object()
            target = check_target(body.get("target"))
            settings = check_settings(body.get("settings"), self.catalogue.root)
            store = body.get("store")
            if store is not None and not isinstance(store, str):
                raise ApiError(400, "BAD_STORE", "store must be a string")
            plan = await self.off_loop(self.jobs.plan, body.get("ids"), store)
            job = self.jobs.start(target, plan, settings, bool(body.get("force", False)))
        except (ApiError, VLError) as err:
            return self._execute_error(err)
        self.set_status(202)
        self.finish(json.dumps(job.to_dict()))


class SyncJobHandler(_Handler):
    @web.authenticated
    @authorized
    def get(self, job_id: str) -> None:
        try:
            job = self.jobs.get(job_id)
        except ApiError as err:
            return self._execute_error(err)
        self.finish(json.dumps(job.to_dict()))


class VerifyHandler(_Handler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        try:
            result = await self.off_loop(self.catalogue.verify, self.arg("store"))
        except (ApiError, VLError) as err:
            return self._execute_error(err)
        self.finish(json.dumps(result))


def _as_dict(obj: Any) -> Any:
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if hasattr(obj, "__dataclass_fields__"):
        import dataclasses

        return dataclasses.asdict(obj)
    return obj


def setup_handlers(web_app: Any, root_dir: str) -> None:
    """Add the routes under the server's base URL."""
    catalogue = Catalogue(root_dir)
    kwargs = {"catalogue": catalogue, "jobs": SyncJobs(catalogue)}
    base = url_path_join(web_app.settings["base_url"], API)
    web_app.add_handlers(
        ".*$",
        [
            (url_path_join(base, "evidence"), EvidenceHandler, kwargs),
            (url_path_join(base, r"evidence/([^/]+)"), RecordHandler, kwargs),
            (url_path_join(base, r"evidence/([^/]+)/history"), HistoryHandler, kwargs),
            (url_path_join(base, r"evidence/([^/]+)/compare"), CompareHandler, kwargs),
            (url_path_join(base, "targets"), TargetsHandler, kwargs),
            (url_path_join(base, "trackers"), TrackersHandler, kwargs),
            (url_path_join(base, "sync"), SyncHandler, kwargs),
            (url_path_join(base, r"sync/([0-9a-f]{1,32})"), SyncJobHandler, kwargs),
            (url_path_join(base, "verify"), VerifyHandler, kwargs),
            *_export_routes(base, kwargs),
        ],
    )


def _export_routes(base: str, kwargs: dict[str, Any]) -> list[Any]:
    from ._export_handler import routes  # the auditor export (docs/audit.md)

    return routes(base, kwargs)
