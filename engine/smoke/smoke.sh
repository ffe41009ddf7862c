#!/usr/bin/env bash
# Smoke test of a running engine (Spring Boot app or Camunda Run with the four-eyes plugin):
# authentication, identities over REST, deployment, four-eyes refusals, long polling, Tasklist.
#
#   ENGINE_URL=http://localhost:18080 ADMIN_USER=admin ADMIN_PASSWORD=admin-dev-only engine/smoke/smoke.sh
#
# Creates users u1/u2 (password u1-pass/u2-pass), group g, and authorizations for g.
# Exits non-zero at the first failed check.
set -euo pipefail

BASE="${ENGINE_URL:-http://localhost:18080}"
REST="$BASE/engine-rest"
ADMIN="${ADMIN_USER:-admin}:${ADMIN_PASSWORD:-admin-dev-only}"
HERE="$(cd "$(dirname "$0")" && pwd)"
LONGPOLL_MS="${LONGPOLL_MS:-3000}"
# Camunda Run lets GET /engine through without credentials; this app does not.
EXPECT_ENGINE_LIST_401="${EXPECT_ENGINE_LIST_401:-1}"

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok   $*"; }

# call USER:PASS METHOD PATH [JSON] -> sets CODE and BODY
call() {
  local auth="$1" method="$2" path="$3" data="${4:-}"
  local out
  if [ -n "$data" ]; then
    out=$(curl -s -u "$auth" -X "$method" -H 'Content-Type: application/json' -d "$data" -w '\n%{http_code}' "$REST$path")
  else
    out=$(curl -s -u "$auth" -X "$method" -w '\n%{http_code}' "$REST$path")
  fi
  CODE="${out##*$'\n'}"
  BODY="${out%$'\n'*}"
}
expect() { # expect CODE... description
  local desc="${*: -1}"; local codes=("${@:1:$#-1}")
  for c in "${codes[@]}"; do [ "$CODE" = "$c" ] && { ok "$desc ($CODE)"; return; }; done
  fail "$desc: HTTP $CODE, expected ${codes[*]}: $BODY"
}
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }

# --- authentication -------------------------------------------------------
CODE=$(curl -s -o /dev/null -w '%{http_code}' "$REST/engine")
if [ "$EXPECT_ENGINE_LIST_401" = 1 ]; then expect 401 "GET /engine without credentials refused"; fi
CODE=$(curl -s -o /dev/null -w '%{http_code}' "$REST/task")
expect 401 "GET /task without credentials refused"
call "$ADMIN" GET /engine; expect 200 "GET /engine as admin"
# (a wrong password for a real user would lock that user for a few seconds: login throttling)
call "nobody-smoke:wrong-password" GET /task; expect 401 "unknown user refused"

# --- identities (tolerates reruns) ---------------------------------------
for u in u1 u2; do
  call "$ADMIN" POST /user/create "{\"profile\":{\"id\":\"$u\",\"firstName\":\"$u\",\"lastName\":\"Smoke\",\"email\":\"$u@example.org\"},\"credentials\":{\"password\":\"$u-pass\"}}"
  expect 204 400 500 "create user $u"
done
call "$ADMIN" POST /group/create '{"id":"g","name":"Smoke group","type":"WORKFLOW"}'; expect 204 400 500 "create group g"
for u in u1 u2; do call "$ADMIN" PUT "/group/g/members/$u"; expect 204 400 500 "add $u to g"; done
# type 1 = grant; resource 7 = task, 6 = process definition
call "$ADMIN" POST /authorization/create '{"type":1,"permissions":["ALL"],"groupId":"g","resourceType":7,"resourceId":"*"}'
expect 200 400 500 "grant g ALL on tasks"
call "$ADMIN" POST /authorization/create '{"type":1,"permissions":["READ","READ_TASK","UPDATE_TASK","READ_HISTORY"],"groupId":"g","resourceType":6,"resourceId":"*"}'
expect 200 400 500 "grant g task permissions on process definitions"

# --- deployment -----------------------------------------------------------
out=$(curl -s -u "$ADMIN" -w '\n%{http_code}' -F deployment-name=four-eyes-smoke -F enable-duplicate-filtering=true \
  -F deploy-changed-only=true -F "four-eyes-smoke.bpmn=@$HERE/four-eyes-smoke.bpmn" -F "timer-smoke.bpmn=@$HERE/timer-smoke.bpmn" "$REST/deployment/create")
CODE="${out##*$'\n'}"; BODY="${out%$'\n'*}"; expect 200 "deploy four-eyes-smoke.bpmn and timer-smoke.bpmn"

# --- A performed by u1 ----------------------------------------------------
call "$ADMIN" POST /process-definition/key/four_eyes_smoke/start '{"businessKey":"smoke"}'; expect 200 "start instance"
PI=$(echo "$BODY" | json 'd["id"]')
call "$ADMIN" GET "/task?processInstanceId=$PI&taskDefinitionKey=A"; expect 200 "find task A"
TA=$(echo "$BODY" | json 'd[0]["id"]')
call "u1:u1-pass" POST "/task/$TA/complete" '{}'; expect 204 "u1 completes A"
call "$ADMIN" GET "/process-instance/$PI/variables/inspector"; expect 200 "read variable inspector"
[ "$(echo "$BODY" | json 'd["value"]')" = "u1" ] || fail "inspector should be u1: $BODY"; ok "inspector recorded as u1"

call "$ADMIN" GET "/task?processInstanceId=$PI&taskDefinitionKey=B"; expect 200 "find task B"
TB=$(echo "$BODY" | json 'd[0]["id"]')

check_refusal() { # description
  expect 403 "$1 refused"
  echo "$BODY" | grep -q "Four-eyes rule: user 'u1' performed this work (inspector)" || fail "$1: message missing: $BODY"
  echo "     -> $BODY"
}

# --- four-eyes refusals ---------------------------------------------------
call "u1:u1-pass" POST "/task/$TB/claim" '{"userId":"u1"}'; check_refusal "u1 claims B"
call "$ADMIN" POST "/task/$TB/assignee" '{"userId":"u1"}'; check_refusal "admin sets assignee of B to u1"
call "u1:u1-pass" POST "/task/$TB/complete" '{}'; check_refusal "u1 completes B without claiming"
call "u1:u1-pass" POST "/task/$TB/submit-form" '{}'; check_refusal "u1 submits the form of B"
call "$ADMIN" GET "/task/$TB"; expect 200 "B still open"
[ "$(echo "$BODY" | json 'd["assignee"]')" = "None" ] || fail "B must stay unassigned: $BODY"; ok "B still unassigned"

# --- the second person ----------------------------------------------------
call "u2:u2-pass" POST "/task/$TB/claim" '{"userId":"u2"}'; expect 204 "u2 claims B"
call "$ADMIN" POST "/task/$TB/delegate" '{"userId":"u1"}'; check_refusal "admin delegates B to u1"
call "$ADMIN" GET "/task/$TB"; [ "$(echo "$BODY" | json 'd["assignee"]')" = "u2" ] || fail "B must stay with u2: $BODY"; ok "B still assigned to u2"
call "u1:u1-pass" POST "/task/$TB/complete" '{}'; check_refusal "u1 completes B claimed by u2"
call "u2:u2-pass" POST "/task/$TB/complete" '{}'; expect 204 "u2 completes B"
call "$ADMIN" GET "/history/process-instance/$PI"; expect 200 "history of the instance"
[ "$(echo "$BODY" | json 'd["state"]')" = "COMPLETED" ] || fail "instance should be completed: $BODY"; ok "instance completed"

# --- long polling through the auth filter ---------------------------------
T0=$(date +%s%N)
call "$ADMIN" POST /external-task/fetchAndLock "{\"workerId\":\"smoke\",\"maxTasks\":1,\"asyncResponseTimeout\":$LONGPOLL_MS,\"topics\":[{\"topicName\":\"smoke-nothing\",\"lockDuration\":1000}]}"
T1=$(date +%s%N)
expect 200 "fetchAndLock long poll"
echo "     -> waited $(( (T1 - T0) / 1000000 )) ms (asyncResponseTimeout $LONGPOLL_MS), body $BODY"
[ $(( (T1 - T0) / 1000000 )) -ge $(( LONGPOLL_MS - 200 )) ] || fail "long poll returned too early"

# --- timers fire within a few seconds (job executor max-wait) -------------
call "$ADMIN" POST /process-definition/key/timer_smoke/start '{}'; expect 200 "start timer instance (PT2S)"
TPI=$(echo "$BODY" | json 'd["id"]'); T0=$(date +%s%N); STATE=ACTIVE
while [ "$STATE" != COMPLETED ] && [ $(( ($(date +%s%N) - T0) / 1000000000 )) -lt "${TIMER_DEADLINE_S:-12}" ]; do
  sleep 0.5; call "$ADMIN" GET "/history/process-instance/$TPI"; STATE=$(echo "$BODY" | json 'd["state"]')
done
[ "$STATE" = COMPLETED ] || fail "PT2S timer did not fire within ${TIMER_DEADLINE_S:-12} s"
ok "PT2S timer fired; instance completed after $(( ($(date +%s%N) - T0) / 1000000 )) ms"

# --- webapps --------------------------------------------------------------
CODE=$(curl -s -o /dev/null -L -w '%{http_code}' "$BASE/camunda/app/tasklist/"); expect 200 "Tasklist page"
CODE=$(curl -s -o /dev/null -L -w '%{http_code}' "$BASE/camunda/app/cockpit/"); expect 200 "Cockpit page"

echo "ALL CHECKS PASSED"
