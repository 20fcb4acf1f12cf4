from pathlib import Path

import pytest
from pydantic import ValidationError

from streams.app import create_app
from streams.settings import Settings


def test_reads_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEWATCH_BROKER_URL", "kafka://k1:9092;k2:9093")
    monkeypatch.setenv("TRADEWATCH_TOPIC_ALERTS", "ops.alerts")
    monkeypatch.setenv("TRADEWATCH_METRICS_PORT", "9100")
    settings = Settings()
    assert settings.bootstrap_servers == ["k1:9092", "k2:9093"]
    assert settings.topic_alerts == "ops.alerts"
    assert settings.metrics_url.endswith(":9100/metrics")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TRADEWATCH_BROKER_URL", "localhost:9092"),  # scheme missing
        ("TRADEWATCH_METRICS_PORT", "70000"),  # out of range
        ("TRADEWATCH_LOG_LEVEL", "loud"),  # not a level
        ("TRADEWATCH_APP_ID", "has space"),  # not a valid group id
    ],
)
def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError):
        Settings()


def test_faust_environment_variables_do_not_override(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # faust would read these itself; tradewatch's own settings must win.
    monkeypatch.setenv("BROKER_URL", "kafka://wrong-host:1")
    monkeypatch.setenv("WEB_PORT", "1")
    monkeypatch.setenv("STORE", "memory://")
    settings = Settings(broker_url="kafka://right-host:9092", metrics_port=7070, data_dir=tmp_path)
    app = create_app(settings).app
    assert [str(url) for url in app.conf.broker] == ["kafka://right-host:9092"]
    assert app.conf.web_port == 7070
    assert str(app.conf.store) == "rocksdb:"


def test_two_workers_cannot_share_a_data_folder(tmp_path: Path) -> None:
    import os

    from streams.worker import DataDirInUse, hold_data_dir

    settings = Settings(data_dir=tmp_path / "state")
    first = hold_data_dir(settings)
    with pytest.raises(DataDirInUse, match=f"in use by another worker \\(pid {os.getpid()}\\)"):
        hold_data_dir(settings)
    first.close()  # the holder ends (a killed worker's lock goes with its process)
    hold_data_dir(settings).close()


def test_who_acts_on_the_control_topics_is_a_setting_not_a_stray_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from streams.settings import unknown_variables

    environment = {"TRADEWATCH_ANALYST": "j.doe", "TRADEWATCH_ROLE": "supervisor"}
    assert list(unknown_variables(environment)) == []
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert (settings.analyst, settings.role) == ("j.doe", "supervisor")
    monkeypatch.setenv("TRADEWATCH_ROLE", "admin")
    with pytest.raises(ValidationError):
        Settings()
