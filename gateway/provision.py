"""Provision the engine from ``config/``: groups, users, authorizations, filters, deployment.

Idempotent: run it at every start. It creates what is missing and leaves the rest alone, so a
password changed in Camunda Admin is not reset, and a diagram that did not change is not redeployed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from config.settings import Settings
from gateway.engine import EngineError, EngineGateway

log = logging.getLogger(__name__)

# Camunda 7 resource type numbers (org.camunda.bpm.engine.authorization.Resources).
RESOURCE_TYPES = {
    "APPLICATION": 0,
    "USER": 1,
    "GROUP": 2,
    "GROUP_MEMBERSHIP": 3,
    "AUTHORIZATION": 4,
    "FILTER": 5,
    "PROCESS_DEFINITION": 6,
    "TASK": 7,
    "PROCESS_INSTANCE": 8,
    "DEPLOYMENT": 9,
    "DECISION_DEFINITION": 10,
    "TENANT": 11,
    "TENANT_MEMBERSHIP": 12,
    "BATCH": 13,
    "DECISION_REQUIREMENTS_DEFINITION": 14,
    "HISTORIC_TASK": 19,
    "HISTORIC_PROCESS_INSTANCE": 20,
}
GRANT = 1


@dataclass
class ProvisionReport:
    created: list[str] = field(default_factory=list)
    deployment: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        deployed = self.deployment.get("deployedProcessDefinitions") or {}
        decisions = self.deployment.get("deployedDecisionDefinitions") or {}
        return (
            f"{len(self.created)} identity objects created; "
            f"{len(deployed)} process and {len(decisions)} decision definitions newly deployed"
        )


def load_identities(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def provision(settings: Settings, *, deploy: bool = True) -> ProvisionReport:
    """Bring the engine in line with ``config/identities.yaml`` and ``bpmn/``."""
    admin = EngineGateway(
        settings.engine_url,
        settings.engine_admin_user,
        settings.engine_admin_password.get_secret_value(),
        settings.engine_timeout_seconds,
    )
    admin.wait_until_up()
    spec = load_identities(settings.identities_file)
    report = ProvisionReport()

    staff_groups = [g["id"] for g in spec["groups"]]
    for group in spec["groups"]:
        _ensure_group(admin, group["id"], group["name"], report)

    people = spec.get("demo_users", []) if settings.env != "production" else []
    for person in people:
        _ensure_user(
            admin, person["id"], person["first"], person["last"], person["password"], report
        )
        for group_id in person.get("groups", []):
            _ensure_membership(admin, group_id, person["id"], report)

    technical = spec.get("technical_group")
    if technical:
        _ensure_group(admin, technical["id"], technical["name"], report, group_type="SYSTEM")
    role_of_user: dict[str, str] = {}
    for tech in spec.get("technical_users", []):
        password = getattr(settings, tech["password_setting"]).get_secret_value()
        _ensure_user(admin, tech["id"], tech["first"], tech["last"], password, report)
        if technical:
            _ensure_membership(admin, technical["id"], tech["id"], report)
        role_of_user[tech["id"]] = tech["role"]

    rules = spec.get("authorizations", {})
    for group_id in staff_groups:
        for rule in rules.get("staff", []):
            if group_id in rule.get("except", []):
                _ensure_no_grant(admin, rule, report, group_id=group_id)
            else:
                _ensure_grant(admin, rule, report, group_id=group_id)
    for group_id in staff_groups:
        for rule in rules.get("retired", []):
            _ensure_no_grant(admin, rule, report, group_id=group_id)
    for group_id, group_rules in (rules.get("groups") or {}).items():
        for rule in group_rules:
            _ensure_grant(admin, rule, report, group_id=group_id)
    for user_id, role in role_of_user.items():
        for rule in rules.get(role, []):
            _ensure_grant(admin, rule, report, user_id=user_id)

    for flt in spec.get("filters", []):
        _ensure_filter(admin, flt, staff_groups, report)

    if deploy:
        report.deployment = admin.deploy_folder(settings.bpmn_dir, settings.deployment_name)
    log.info("engine provisioned: %s", report.summary())
    return report


def _exists(admin: EngineGateway, path: str) -> bool:
    try:
        admin.call("GET", path)
        return True
    except EngineError as exc:
        if exc.status == 404:
            return False
        raise


def _ensure_group(
    admin: EngineGateway,
    group_id: str,
    name: str,
    report: ProvisionReport,
    group_type: str = "WORKFLOW",
) -> None:
    if not _exists(admin, f"/group/{group_id}"):
        admin.call("POST", "/group/create", json={"id": group_id, "name": name, "type": group_type})
        report.created.append(f"group {group_id}")


def _ensure_user(
    admin: EngineGateway,
    user_id: str,
    first: str,
    last: str,
    password: str,
    report: ProvisionReport,
) -> None:
    if _exists(admin, f"/user/{user_id}/profile"):
        return
    admin.call(
        "POST",
        "/user/create",
        json={
            "profile": {
                "id": user_id,
                "firstName": first,
                "lastName": last,
                "email": f"{user_id}@example.invalid",
            },
            "credentials": {"password": password},
        },
    )
    report.created.append(f"user {user_id}")


def _ensure_membership(
    admin: EngineGateway, group_id: str, user_id: str, report: ProvisionReport
) -> None:
    members = admin.call("GET", "/user", params={"memberOfGroup": group_id, "id": user_id})
    if not members:
        admin.call("PUT", f"/group/{group_id}/members/{user_id}")
        report.created.append(f"membership {user_id} in {group_id}")


def _ensure_grant(
    admin: EngineGateway,
    rule: dict[str, Any],
    report: ProvisionReport,
    *,
    user_id: str | None = None,
    group_id: str | None = None,
) -> None:
    resource_type = RESOURCE_TYPES[rule["resource"]]
    query: dict[str, Any] = {"type": GRANT, "resourceType": resource_type, "resourceId": rule["id"]}
    if user_id:
        query["userIdIn"] = user_id
    else:
        query["groupIdIn"] = group_id
    wanted = set(rule["permissions"])
    existing = admin.call("GET", "/authorization", params=query) or []
    for auth in existing:
        if (auth.get("userId") or None) == user_id and (auth.get("groupId") or None) == group_id:
            have = set(auth.get("permissions") or [])
            if wanted <= have or "ALL" in have:
                return
            admin.call(
                "PUT",
                f"/authorization/{auth['id']}",
                json={
                    "permissions": sorted(have | wanted),
                    "userId": user_id,
                    "groupId": group_id,
                    "resourceType": resource_type,
                    "resourceId": rule["id"],
                },
            )
            report.created.append(f"grant {rule['resource']} to {user_id or group_id}")
            return
    admin.call(
        "POST",
        "/authorization/create",
        json={
            "type": GRANT,
            "permissions": sorted(wanted),
            "userId": user_id,
            "groupId": group_id,
            "resourceType": resource_type,
            "resourceId": rule["id"],
        },
    )
    report.created.append(f"grant {rule['resource']} to {user_id or group_id}")


def _ensure_no_grant(
    admin: EngineGateway, rule: dict[str, Any], report: ProvisionReport, *, group_id: str
) -> None:
    """The group holds none of the rule's permissions on that resource (an earlier grant is
    narrowed, or removed when nothing is left)."""
    resource_type = RESOURCE_TYPES[rule["resource"]]
    existing = (
        admin.call(
            "GET",
            "/authorization",
            params={
                "type": GRANT,
                "resourceType": resource_type,
                "resourceId": rule["id"],
                "groupIdIn": group_id,
            },
        )
        or []
    )
    for auth in existing:
        if (auth.get("groupId") or None) != group_id:
            continue
        have = set(auth.get("permissions") or [])
        left = have - set(rule["permissions"]) - {"ALL", "NONE"}
        if have == left:
            continue
        if left:
            admin.call(
                "PUT",
                f"/authorization/{auth['id']}",
                json={
                    "permissions": sorted(left),
                    "groupId": group_id,
                    "resourceType": resource_type,
                    "resourceId": rule["id"],
                },
            )
        else:
            admin.call("DELETE", f"/authorization/{auth['id']}")
        report.created.append(f"revoke {rule['resource']} from {group_id}")


def _ensure_filter(
    admin: EngineGateway, flt: dict[str, Any], groups: list[str], report: ProvisionReport
) -> None:
    """The Tasklist filter as configured (created, or its query and properties brought in line),
    readable by exactly the groups it serves among ``groups`` (all of them when it names none)."""
    wanted = {
        "resourceType": "Task",
        "name": flt["name"],
        "owner": admin.user,
        "query": flt["query"],
        "properties": {
            "description": flt.get("description", ""),
            "priority": flt["priority"],
            "refresh": True,
        },
    }
    existing = admin.call("GET", "/filter", params={"resourceType": "Task", "name": flt["name"]})
    if existing:
        filter_id = existing[0]["id"]
        if _filter_differs(existing[0], wanted):
            admin.call("PUT", f"/filter/{filter_id}", json=wanted)
            report.created.append(f"filter {flt['name']} updated")
    else:
        filter_id = admin.call("POST", "/filter/create", json=wanted)["id"]
        report.created.append(f"filter {flt['name']}")
    readers = flt.get("groups") or groups
    read = {"resource": "FILTER", "id": filter_id, "permissions": ["READ"]}
    for group_id in groups:
        if group_id in readers:
            _ensure_grant(admin, read, report, group_id=group_id)
        else:
            _ensure_no_grant(admin, read, report, group_id=group_id)
    for group_id in readers:
        if group_id not in groups:
            _ensure_grant(admin, read, report, group_id=group_id)


def _filter_differs(stored: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """The engine returns the query with every criterion it knows (most null) and its own
    spelling of the sorting; compare what the configuration says."""
    query = stored.get("query") or {}
    for key, value in wanted["query"].items():
        if key == "sorting":
            have = [
                {"sortBy": s.get("sortBy"), "sortOrder": s.get("sortOrder")}
                for s in query.get("sorting") or []
            ]
            if have != value:
                return True
        elif key == "orQueries":
            have = query.get("orQueries") or []
            if len(have) != len(value) or any(
                {k: h.get(k) for k in w} != w for h, w in zip(have, value, strict=True)
            ):
                return True
        elif query.get(key) != value:
            return True
    extra = {k for k, v in query.items() if v not in (None, [], {}, False) and k != "sorting"}
    if extra - set(wanted["query"]):
        return True
    props = stored.get("properties") or {}
    return any(props.get(k) != v for k, v in wanted["properties"].items())
