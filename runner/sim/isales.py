"""Simulated Huawei CC-iSales: reservations that are listed, executed when due, and give results.

Behaviour, as the vendor documents it where it does:
* a bad request gets HTTP 200 with the documented code (04000002 for a called number that is
  not 1-24 of digits, * and #; 02000001 for a missing field; 02000007 out of range; ...);
* a create for an unknown campaign gets 0200007, a blocklisted number 04000003, a time in the
  past 04000001;
* an automatic reservation (callType 2) is called 5 minutes before its time, a manual one at
  its time; the call's outcome is fixed by the number's last digit (0-6 answered, 7 busy,
  8 no answer, 9 rejected), so tests can count on it;
* simulator convention (not documented by Huawei): the call made for a reservation has the
  reservation's ID as its call record ID, so `callresult.detail` finds it by `appointId`.
"""

from __future__ import annotations

import calendar
import heapq
import hmac
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar
from urllib.parse import parse_qsl

from runner.auth import huawei_c2
from runner.clock import Clock
from runner.sim import demo_credentials
from runner.sim.model import SimRequest, SimResponse, Vendor
from runner.validation import SchemaIssue

SUCCESS = "0200000"
CAMPAIGNS = {"1106025109": "预占", "2201": "callbacks", "2202": "renewals"}
BLOCKLIST_PREFIX = "999"
AUTOMATIC_LEAD_MS = 5 * 60 * 1000
_OUTCOMES = {  # last digit -> (callStatus, failCode)
    **{str(d): ("6", "00000") for d in range(7)},
    "7": ("5", "00537"), "8": ("5", "00603"), "9": ("5", "00604"),
}
_KEYWORD_CODES = {
    "required": "02000001", "type": "02000006", "enum": "02000007", "minimum": "02000007",
    "maximum": "02000007", "pattern": "02000002", "maxLength": "02000003",
    "minLength": "02000001", "additionalProperties": "0200001",
}


@dataclass
class Reservation:
    """A reserved outbound call, and the call made of it once its time came."""

    fields: dict[str, Any]
    vdn_id: int
    call: dict[str, Any] | None = None
    scheduled_at: float = 0.0  # the schedule's time when it was made (see ISales.schedule)

    @property
    def fires_at(self) -> int:
        lead = AUTOMATIC_LEAD_MS if self.fields["callType"] == "2" else 0
        return int(self.fields["appointTime"]) - lead

    @property
    def due(self) -> float:
        """The schedule's time at which its call happens: as far past `scheduled_at` as the
        vendor's clock had to go from its making to `fires_at`."""
        return self.scheduled_at + (self.fires_at - int(self.fields["createTime"])) / 1000


def _seeded() -> dict[str, Reservation]:
    """The vendor pages' own examples, already called: the reservation of the list page and
    the call of the detail page (VDN 8), so a read-only probe finds something to read."""
    listed: dict[str, Any] = {"appointId": "174730253678826340158055543045", "callType": "2",
              "appointTime": 1747302523000, "calledNo": "66660001", "taskId": "1106025109",
              "taskName": "预占", "taskStatus": "2", "timeout": True, "userAccount": "116",
              "userName": "116", "beginTime": 1747302513000, "endTime": 1747302523000,
              "callFlag": "2", "callerNo": "710002", "failCode": "00604", "result": "0101",
              "busiResult": "预约业务结果>aab", "createTime": 1747302536000}
    call: dict[str, Any] = {"callId": "1644464743-1388", "called": "88881955", "callEndTime":
            "2022-02-10 11:45:51", "vdnId": 8, "callStatus": "6", "failCode": "00000",
            "resultCode": "OB99999", "callBeginTime": "2022-02-10 11:45:47",
            "recordPath": "", "ackBeginTime": "2022-02-10 11:45:43"}
    rejected = {"callId": listed["appointId"], "called": "66660001", "vdnId": 8,
                "callStatus": "5", "failCode": "00604", "resultCode": "OB00001",
                "ackBeginTime": "2025-05-15 09:48:33", "callEndTime": "2025-05-15 09:48:43",
                "recordPath": ""}
    return {listed["appointId"]: Reservation(listed, 8, call=rejected),
            call["callId"]: Reservation({**listed, "appointId": call["callId"],
                                         "calledNo": call["called"]}, 8, call=call)}


@dataclass
class ISales(Vendor):
    """`clock` is the vendor's time (signatures, appointment times); `schedule` decides when a
    reservation's call happens: it fires once the schedule has moved, since the reservation was
    made, as far as the vendor's clock had to go to its time. In-process both are the engine's
    simulated clock; served, the schedule runs `--speed` times faster than the vendor's clock
    and `/_sim/clock?advance` moves it, so calls come sooner while signatures and appointment
    times are still judged by the time clients have."""

    clock: Clock
    schedule: Clock
    reservations: dict[str, Reservation] = field(default_factory=_seeded)
    sequence: int = 0
    # (due, appointId) of each reservation not called yet, soonest first: a list or a poll
    # executes what is due without looking at every reservation (a campaign has thousands)
    pending: list[tuple[float, str]] = field(default_factory=list)
    # the last list query and the reservations it matched: paging through a campaign's
    # thousands reads one list, not all of them again a page at a time
    listing: tuple[Any, list[Reservation]] | None = None

    handlers: ClassVar[dict[str, str]] = {
        "appoint.list": "list_reservations",
        "appoint.create": "create_reservation",
        "callresult.detail": "call_result",
    }

    def world(self) -> dict[str, Any]:
        return {"sequence": self.sequence,
                "reservations": [asdict(r) for r in self.reservations.values()]}

    def restore(self, world: Mapping[str, Any]) -> None:
        self.sequence = int(world["sequence"])
        self.reservations = {r["fields"]["appointId"]: Reservation(**r)
                             for r in world["reservations"]}
        self.pending = [(r.due, appoint_id) for appoint_id, r in self.reservations.items()
                        if r.call is None]
        heapq.heapify(self.pending)
        self.listing = None

    def authenticate(self, request: SimRequest) -> SimResponse | None:
        """C2 signature check, as CC-iSales does it: HTTP 401 with no business code."""
        problem = self._signature_problem(request)
        if problem is None:
            return None
        return SimResponse(401, {"error_code": "401", "error_msg": f"Unauthorized: {problem}"})

    def _signature_problem(self, request: SimRequest) -> str | None:
        parts = request.headers.get("authorization", "").split("/")
        if len(parts) != 5 or parts[0] != huawei_c2.PREFIX:
            return "no auth-v2 Authorization header"
        _, ak, stamp, names, signature = parts
        sk = demo_credentials.ISALES_KEYS.get(ak)
        if sk is None:
            return "unknown access key"
        signed_at = _parse_stamp(stamp)
        skew = float(self.auth_settings.get("clock_skew_seconds", 300))
        if signed_at is None or abs(self.clock.now() - signed_at) > skew:
            return "the signature's timestamp is invalid or too far from the server's clock"
        wanted = names.split(";")
        if "host" not in wanted or any(name not in request.headers for name in wanted):
            return "the signed headers must include host and be present"
        expected = huawei_c2.authorization(
            ak, sk, stamp, request.method, request.raw_path,
            parse_qsl(request.raw_query, keep_blank_values=True),
            {name: request.headers[name] for name in wanted}, request.raw_body,
            sign_empty_query=bool(self.auth_settings.get("sign_empty_query", False)))
        if not hmac.compare_digest(expected.rsplit("/", 1)[1], signature):
            return "signature mismatch"
        return None

    def coded(self, code: str, message: str) -> SimResponse:
        return _envelope(code, message)

    def reject(self, request: SimRequest, issues: list[SchemaIssue]) -> SimResponse:
        issue = issues[0]
        field_name = str(issue.path[0]) if issue.path else ""
        code = _KEYWORD_CODES.get(issue.keyword, "0200001")
        if field_name == "calledNo" and issue.keyword in ("pattern", "maxLength", "minLength"):
            code = "04000002"
        return _envelope(code, f"{field_name}: {issue.message}" if field_name else issue.message)

    def create_reservation(self, request: SimRequest) -> SimResponse:
        body = dict(request.sections["body"])
        if body["taskId"] not in CAMPAIGNS:
            return _envelope("0200007", "the outbound campaign does not exist")
        if str(body["calledNo"]).startswith(BLOCKLIST_PREFIX):
            return _envelope("04000003", "the reserved number is a blocklisted number")
        now = self.now_ms()
        if int(body["appointTime"]) <= now:
            return _envelope("04000001", "incorrect time: the reservation time has passed")
        self.sequence += 1
        appoint_id = f"{now}{self.sequence:06d}"
        body.update(appointId=appoint_id, taskName=CAMPAIGNS[body["taskId"]], taskStatus="2",
                    timeout=False, userName=body["userAccount"], createTime=now)
        reservation = Reservation(body, request.param("vdnId"), scheduled_at=self.schedule.now())
        self.reservations[appoint_id] = reservation
        heapq.heappush(self.pending, (reservation.due, appoint_id))
        return _envelope(SUCCESS, "success", returnObject={"id": appoint_id})

    def list_reservations(self, request: SimRequest) -> SimResponse:
        self._execute_due()
        query = request.sections["body"]
        rows = self._matching(request.param("vdnId"), query)
        offset, limit = int(query["offset"]), int(query["limit"])
        page = [_listed(r, self.now_ms()) for r in rows[offset:offset + limit]]
        return _envelope(SUCCESS, "success", totalCount=len(rows), data=page)

    def _matching(self, vdn_id: Any, query: Mapping[str, Any]) -> list[Reservation]:
        """The reservations a list query matches, oldest first. Reservations are only ever
        added, and what a query matches on never changes: while none is added, the last
        query's answer stands."""
        key = (vdn_id, len(self.reservations),
               sorted((k, repr(v)) for k, v in query.items() if k not in ("offset", "limit")))
        if self.listing is None or self.listing[0] != key:
            rows = [r for r in self.reservations.values()
                    if r.vdn_id == vdn_id and _matches(r.fields, query)]
            rows.sort(key=lambda r: (r.fields["createTime"], r.fields["appointId"]))
            self.listing = (key, rows)
        return self.listing[1]

    def call_result(self, request: SimRequest) -> SimResponse:
        self._execute_due()
        found = self.reservations.get(str(request.param("callId")))
        if found is None or found.call is None or found.vdn_id != request.param("vdnId"):
            return _envelope("0200007", "call record ID does not exist")
        return _envelope(SUCCESS, "Query Success!", data=found.call)

    def _execute_due(self) -> None:
        scheduled = self.schedule.now()
        while self.pending and self.pending[0][0] <= scheduled:
            self._execute(self.reservations[heapq.heappop(self.pending)[1]])

    def _execute(self, reservation: Reservation) -> None:
        fields = reservation.fields
        status, fail_code = _OUTCOMES.get(fields["calledNo"][-1], ("5", "00538"))
        began = reservation.fires_at
        ended = began + (45_000 if status == "6" else 20_000)
        fields.update(beginTime=began, endTime=ended, callFlag="2", callerNo="710002",
                      failCode=fail_code, result="0" if status == "6" else "0101",
                      busiResult="answered" if status == "6" else "not reached")
        reservation.call = {
            "callId": fields["appointId"], "called": fields["calledNo"],
            "ackBeginTime": _clock_text(began), "callEndTime": _clock_text(ended),
            "vdnId": reservation.vdn_id, "callStatus": status, "failCode": fail_code,
            "resultCode": "OB99999" if status == "6" else "OB00001", "recordPath": "",
        }
        if status == "6":
            reservation.call["callBeginTime"] = _clock_text(began + 5_000)


def _parse_stamp(stamp: str) -> float | None:
    for form in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ"):
        try:
            return calendar.timegm(time.strptime(stamp, form))
        except ValueError:
            continue
    return None


def _matches(fields: dict[str, Any], query: Mapping[str, Any]) -> bool:
    if "taskId" in query and fields["taskId"] != query["taskId"]:
        return False
    if "calledNo" in query and fields["calledNo"] != query["calledNo"]:
        return False
    if "userAccountList" in query and fields["userAccount"] not in query["userAccountList"]:
        return False
    if "beginTime" in query and fields["appointTime"] < query["beginTime"]:
        return False
    return not ("endTime" in query and fields["appointTime"] > query["endTime"])


def _listed(reservation: Reservation, now: int) -> dict[str, Any]:
    row = {k: v for k, v in reservation.fields.items() if k != "vdnId"}
    row["timeout"] = reservation.call is None and int(row["appointTime"]) < now
    return row


def _envelope(code: str, description: str, **payload: Any) -> SimResponse:
    return SimResponse(200, {"resultCode": code, "resultDesc": description,
                             "returnCode": code, "returnDesc": description, **payload})


def _clock_text(epoch_ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch_ms / 1000))
