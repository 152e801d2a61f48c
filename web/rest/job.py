"""``/job``: timer and other jobs (``GET /job``, count), ``PUT /job/{id}/retries`` (a failed job with
retries > 0 runs again) and ``POST /job/{id}/execute`` (run a job now, whatever its due date). Admin only when
authentication is on (the operate capability)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from . import common
from .common import ERR, NO_CONTENT, RestError, camunda_date, engine, flag, integer, json_response, operation

bp = Blueprint("rest_job", __name__)

MAX_ATTEMPTS = 3


def job_dto(j: Any) -> dict[str, Any]:
    retries = 0 if j.state in ("FAILED", "DONE", "CANCELLED") else max(0, MAX_ATTEMPTS - (j.attempts or 0))
    return {"id": j.id, "jobDefinitionId": None, "processInstanceId": j.instance_id, "processDefinitionId": None,
            "processDefinitionKey": None, "executionId": j.instance_id, "exceptionMessage": j.last_error,
            "failedActivityId": j.activity_id if j.state == "FAILED" else None, "retries": retries,
            "dueDate": camunda_date(j.due), "suspended": j.state == "SUSPENDED", "priority": 0, "tenantId": None,
            "createTime": None, "batchId": None,
            # OneWindow's own
            "jobType": j.job_type, "activityId": j.activity_id, "state": j.state}


def _list(params: dict[str, Any]) -> list[Any]:
    common.require("operate")
    common.refuse_unsupported(params, ("jobDefinitionId", "processDefinitionId", "processDefinitionKey",
                                       "activityId", "executionId", "timers", "messages", "dueDates",
                                       "createTimes", "priorityLowerThanOrEquals", "priorityHigherThanOrEquals",
                                       "tenantIdIn", "exceptionMessage", "failedActivityId"))
    states = ("PENDING", "FAILED", "SUSPENDED")
    jobs = engine().jobs.list(states=states, instance_id=params.get("processInstanceId") or None)
    if params.get("jobId"):
        jobs = [j for j in jobs if j.id == params["jobId"]]
    if flag(params.get("withException"), "withException"):
        jobs = [j for j in jobs if j.last_error]
    if flag(params.get("noRetriesLeft"), "noRetriesLeft"):
        jobs = [j for j in jobs if j.state == "FAILED"]
    if flag(params.get("withRetriesLeft"), "withRetriesLeft") or flag(params.get("executable"), "executable"):
        jobs = [j for j in jobs if j.state == "PENDING"]
    if flag(params.get("active"), "active"):
        jobs = [j for j in jobs if j.state != "SUSPENDED"]
    if flag(params.get("suspended"), "suspended"):
        jobs = [j for j in jobs if j.state == "SUSPENDED"]
    order = common.sorting(params, {"jobId": lambda j: j.id, "jobDueDate": lambda j: j.due,
                                    "processInstanceId": lambda j: j.instance_id or "",
                                    "jobRetries": lambda j: j.attempts})
    if order:
        key, direction = order
        jobs = sorted(jobs, key=key, reverse=direction == "desc")
    return jobs


@bp.get("/job")
def jobs() -> Any:
    params = common.query_params()
    return jsonify([job_dto(j) for j in common.page(_list(params), params)])


@bp.get("/job/count")
def jobs_count() -> Any:
    return jsonify({"count": len(_list(common.query_params()))})


@bp.put("/job/<job_id>/retries")
def set_retries(job_id: str) -> Any:
    common.require("operate")
    retries = integer(common.body().get("retries"), "retries")
    if retries is None:
        raise RestError(400, "the body needs retries (a whole number >= 1)")
    if retries == 0:
        raise RestError(400, "setting retries to 0 is not supported by OneWindow: a job fails by itself after "
                             f"{MAX_ATTEMPTS} attempts")
    job = next((j for j in engine().jobs.list(states=("PENDING", "FAILED", "SUSPENDED", "DONE", "CANCELLED"))
                if j.id == job_id), None)
    if job is None:
        raise RestError(404, f"No job found with id '{job_id}'")
    if job.state == "FAILED":
        engine().jobs.retry(job_id, actor=common.current_user())
    elif job.state in ("DONE", "CANCELLED"):
        raise RestError(404, f"No job found with id '{job_id}' (it is {job.state.lower()})")
    return common.no_content()


@bp.post("/job/<job_id>/execute")
def execute(job_id: str) -> Any:
    """Camunda: 204 when the job ran, 404 for an unknown (or already executed) job, 500 when it failed (the
    attempt is counted, as by the job worker)."""
    common.require("operate")
    result = engine().jobs.execute(job_id, worker_id=common.current_user())
    if result.outcome in ("fired", "cancelled"):  # cancelled: the timer had stopped waiting; the job is gone
        return common.no_content()
    if result.outcome == "suspended":
        raise RestError(500, f"job '{job_id}' was not executed: its case is suspended",
                        "SuspendedEntityInteractionException")
    if result.outcome == "skipped":
        raise RestError(500, f"job '{job_id}' was not executed: another worker took it over",
                        "ProcessEngineException")
    what = "failed" if result.outcome == "failed" else "raised an incident in its case"
    raise RestError(500, f"job '{job_id}' {what}: {result.message}", "ProcessEngineException")


_QUERY = common.query("jobId", "processInstanceId", "withException:boolean", "noRetriesLeft:boolean",
                      "withRetriesLeft:boolean", "executable:boolean", "active:boolean", "suspended:boolean",
                      "sortBy", "sortOrder", "firstResult:integer", "maxResults:integer")
OPENAPI: dict[str, Any] = {
    "paths": {
        "/job": {"get": operation("getJobs", "Job", "Pending, suspended and failed jobs",
                                  {"200": json_response("Jobs", "JobDto", True), "400": ERR, "403": ERR},
                                  parameters=_QUERY)},
        "/job/count": {"get": operation("getJobsCount", "Job", "Number of jobs",
                                        {"200": json_response("Count", "CountResultDto"), "400": ERR},
                                        parameters=_QUERY)},
        "/job/{id}/retries": {"put": operation(
            "setJobRetries", "Job", "Retries > 0 make a failed job run again",
            {"204": NO_CONTENT, "400": ERR, "403": ERR, "404": ERR}, parameters=common.path_params("id"),
            request_body=common.json_body({"type": "object", "required": ["retries"], "properties": {
                "retries": {"type": "integer", "minimum": 1}}}, True))},
        "/job/{id}/execute": {"post": operation(
            "executeJob", "Job", "Execute the job now, whatever its due date (500 with the error if it fails)",
            {"204": NO_CONTENT, "403": ERR, "404": ERR, "500": ERR}, parameters=common.path_params("id"))},
    },
    "components": {"schemas": {"JobDto": common.props(
        "id", "jobDefinitionId", "processInstanceId", "processDefinitionId", "processDefinitionKey", "executionId",
        "exceptionMessage", "failedActivityId", "retries:integer", "dueDate:date", "suspended:boolean",
        "priority:integer", "tenantId", "createTime:date", "batchId", "jobType", "activityId", "state")}},
}
