from __future__ import annotations

from types import SimpleNamespace

import pytest

from workers.registry import all_handlers
from workers.runtime import DuplicateTopic, TopicRouter, merge_routers
from workers.runtime.settings import TopicSettings, load_topic_settings
from workers.support import in_transaction


def test_parameters_name_the_variables_to_fetch_and_task_is_injected():
    router = TopicRouter()

    @router.topic("t")
    def handler(task, loan_id: str, amount: float) -> dict:
        return {"seen": (task.id, loan_id, amount)}

    spec = router.handlers["t"]
    assert spec.variables == ("loan_id", "amount")
    task = SimpleNamespace(id="x", variables={"loan_id": "L1", "amount": 2.0, "other": 1})
    assert spec(task) == {"seen": ("x", "L1", 2.0)}


def test_duplicate_topic_in_one_router_is_refused():
    router = TopicRouter()
    router.topic("t")(lambda: None)
    with pytest.raises(DuplicateTopic):
        router.topic("t")(lambda: None)


def test_duplicate_topic_across_routers_is_refused_naming_both_handlers():
    first, second = TopicRouter(), TopicRouter()

    @first.topic("t")
    def one() -> None: ...

    @second.topic("t")
    def two() -> None: ...

    with pytest.raises(DuplicateTopic, match="one.*two"):
        merge_routers([first, second])


def test_catch_all_parameters_are_refused():
    with pytest.raises(TypeError, match="explicitly"):
        TopicRouter().topic("t")(lambda **kw: None)


def test_transactional_handlers_fetch_only_their_variables():
    handlers = all_handlers()
    assert handlers["inspection.check-repayment"].variables == ("inspection_id",)
    assert "session" not in handlers["inspection.finalize"].variables

    @in_transaction
    def f(session, task, a: int) -> dict:
        return {}

    router = TopicRouter()
    router.topic("x")(f)
    assert router.handlers["x"].variables == ("a",)


def test_backoff_doubles_and_is_capped():
    settings = TopicSettings(backoff_ms=1000, max_backoff_ms=5000)
    assert [settings.backoff_for(n) for n in (1, 2, 3, 4)] == [1000, 2000, 4000, 5000]


def test_topic_settings_come_from_config_with_defaults(tmp_path):
    path = tmp_path / "topics.yaml"
    path.write_text("default: {retries: 5}\ntopics:\n  a: {lock_ms: 1000}\n")
    settings = load_topic_settings(path)
    assert settings["a"].lock_ms == 1000 and settings["a"].retries == 5
    assert settings["unknown"].retries == 5
