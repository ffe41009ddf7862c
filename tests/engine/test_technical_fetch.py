"""fetchAndLock of the worker user runs without authorization joins, and nothing else of it does.

engine/app's TechnicalFetchInterceptor disables the authorization check for exactly the
FetchExternalTasksCmd of the configured technical users (``svc-workers``). These tests pin that
the worker's fetch works, that the worker is still refused what its authorizations deny, and that
another user's fetch is still filtered.
"""

from __future__ import annotations

import uuid

import pytest
import requests

from config.settings import Settings

pytestmark = pytest.mark.engine


def _bpmn(key: str, body: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs_{key}" targetNamespace="tests">
  <bpmn:process id="{key}" isExecutable="true" camunda:historyTimeToLive="P1D">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    {body}
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>""".encode()


def _admin(settings: Settings) -> tuple[str, str]:
    return (settings.engine_admin_user, settings.engine_admin_password.get_secret_value())


def _worker(settings: Settings) -> tuple[str, str]:
    return (settings.engine_worker_user, settings.engine_worker_password.get_secret_value())


def _deploy_and_start(settings: Settings, key: str, body: str, count: int) -> list[str]:
    url = settings.engine_url
    response = requests.post(
        f"{url}/deployment/create",
        data={"deployment-name": key},
        files={f"{key}.bpmn": (f"{key}.bpmn", _bpmn(key, body), "application/xml")},
        auth=_admin(settings),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    pids = []
    for _ in range(count):
        started = requests.post(
            f"{url}/process-definition/key/{key}/start", json={}, auth=_admin(settings), timeout=30
        )
        assert started.status_code == 200, started.text
        pids.append(started.json()["id"])
    return pids


def _fetch(
    settings: Settings, auth: tuple[str, str], topic: str, max_tasks: int = 10
) -> requests.Response:
    return requests.post(
        f"{settings.engine_url}/external-task/fetchAndLock",
        json={
            "workerId": f"test-{uuid.uuid4().hex[:6]}",
            "maxTasks": max_tasks,
            "topics": [{"topicName": topic, "lockDuration": 60_000}],
        },
        auth=auth,
        timeout=30,
    )


def test_the_worker_user_fetches_and_completes(provisioned: Settings) -> None:
    key = f"tech_fetch_{uuid.uuid4().hex[:8]}"
    topic = f"topic-{key}"
    pids = _deploy_and_start(
        provisioned,
        key,
        f'<bpmn:serviceTask id="work" camunda:type="external" camunda:topic="{topic}"/>',
        3,
    )
    response = _fetch(provisioned, _worker(provisioned), topic)
    assert response.status_code == 200, response.text
    tasks = response.json()
    assert sorted(t["processInstanceId"] for t in tasks) == sorted(pids)
    for task in tasks:
        done = requests.post(
            f"{provisioned.engine_url}/external-task/{task['id']}/complete",
            json={"workerId": task["workerId"]},
            auth=_worker(provisioned),
            timeout=30,
        )
        assert done.status_code == 204, done.text


def test_the_worker_user_is_still_refused_what_its_authorizations_deny(
    provisioned: Settings,
) -> None:
    key = f"tech_user_{uuid.uuid4().hex[:8]}"
    (pid,) = _deploy_and_start(
        provisioned, key, '<bpmn:userTask id="work" camunda:candidateGroups="nobody"/>', 1
    )
    url = provisioned.engine_url
    admin_tasks = requests.get(
        f"{url}/task", params={"processInstanceId": pid}, auth=_admin(provisioned), timeout=10
    )
    (task,) = admin_tasks.json()
    worker = _worker(provisioned)
    # no TASK rights: the task list stays filtered, the task cannot be completed or read
    listed = requests.get(f"{url}/task", params={"processInstanceId": pid}, auth=worker, timeout=10)
    assert listed.status_code == 200 and listed.json() == []
    assert requests.get(f"{url}/task/{task['id']}", auth=worker, timeout=10).status_code in (
        403,
        404,
    )
    completed = requests.post(f"{url}/task/{task['id']}/complete", json={}, auth=worker, timeout=10)
    assert completed.status_code == 403, completed.text
    variables = requests.put(
        f"{url}/task/{task['id']}/variables/x",
        json={"value": 1, "type": "Integer"},
        auth=worker,
        timeout=10,
    )
    assert variables.status_code == 403, variables.text
    # no DELETE on instances, no deployments, no users
    assert (
        requests.delete(f"{url}/process-instance/{pid}", auth=worker, timeout=10).status_code == 403
    )
    deploy = requests.post(
        f"{url}/deployment/create",
        data={"deployment-name": "intruder"},
        files={
            "x.bpmn": (
                "x.bpmn",
                _bpmn("intruder_" + key, '<bpmn:manualTask id="work"/>'),
                "application/xml",
            )
        },
        auth=worker,
        timeout=10,
    )
    assert deploy.status_code == 403, deploy.text
    # the instance is still there
    still = requests.get(f"{url}/process-instance/{pid}", auth=_admin(provisioned), timeout=10)
    assert still.status_code == 200


def test_another_users_fetch_is_still_filtered(provisioned: Settings) -> None:
    from helpers import DEMO_PASSWORDS

    key = f"tech_other_{uuid.uuid4().hex[:8]}"
    topic = f"topic-{key}"
    _deploy_and_start(
        provisioned,
        key,
        f'<bpmn:serviceTask id="work" camunda:type="external" camunda:topic="{topic}"/>',
        2,
    )
    # a member of staff: READ on definitions, no READ_INSTANCE/UPDATE_INSTANCE: sees no task
    response = _fetch(provisioned, ("am_li", DEMO_PASSWORDS["am_li"]), topic)
    assert response.status_code == 200, response.text
    assert response.json() == []
    # nothing was locked by that fetch
    waiting = requests.get(
        f"{provisioned.engine_url}/external-task/count",
        params={"topicName": topic, "locked": "false"},
        auth=_admin(provisioned),
        timeout=10,
    )
    assert waiting.json()["count"] == 2
