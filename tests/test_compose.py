"""docker-compose.yml checked without a Docker engine: structure, pins, files, settings names."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from streams.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]


def pom_kafka_version() -> str:
    pom = (ROOT / "scripts" / "kafka" / "pom.xml").read_text(encoding="utf-8")
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", pom)
    assert match, "scripts/kafka/pom.xml has no kafka.version"
    return match.group(1)


def test_expected_services_are_present() -> None:
    assert {
        "kafka",
        "topics",
        "worker",
        "demo-feed",
        "prometheus",
        "alertmanager",
        "grafana",
        "alertmanager-sink",
        "webhook-echo",
        "desk",
    } <= set(SERVICES)


def test_prometheus_and_alertmanager_files_are_the_tested_ones() -> None:
    mounts = {v.split(":")[0] for s in SERVICES.values() for v in s.get("volumes", [])}
    assert "./ops/prometheus/rules" in mounts
    assert "./ops/prometheus/prometheus.yml" in mounts
    assert "./ops/alertmanager/alertmanager.yml" in mounts
    assert "./ops/grafana/dashboards" in mounts


def _mount(volume: str) -> tuple[str, str]:
    """A volume entry's source and target, a ${VAR:-default} source read as its default."""
    resolved = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", volume)
    source, target = resolved.split(":")[:2]
    return source, target


def test_secrets_come_from_the_environment_with_defaults() -> None:
    grafana = _environment(SERVICES["grafana"])
    assert grafana["GF_SECURITY_ADMIN_PASSWORD"] == "${GRAFANA_ADMIN_PASSWORD:-admin}"


def test_every_named_volume_is_used_and_every_used_volume_is_named() -> None:
    named = set(COMPOSE["volumes"])
    used = {
        _mount(v)[0]
        for s in SERVICES.values()
        for v in s.get("volumes", [])
        if not _mount(v)[0].startswith((".", "/"))
    }
    assert used == named


def test_kafka_image_matches_local_broker_version() -> None:
    assert SERVICES["kafka"]["image"] == f"apache/kafka:{pom_kafka_version()}"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_images_are_pinned(name: str) -> None:
    service = SERVICES[name]
    image = service.get("image", "")
    if "build" in service:
        assert (ROOT / service["build"] / "Dockerfile").is_file()
    assert re.fullmatch(r"[\w./-]+:[\w.-]+", image), f"{name}: image {image!r} has no tag"
    assert not image.endswith(":latest"), f"{name}: 'latest' is not a pin"


def test_dockerfile_base_images_are_pinned_and_copies_existing_paths() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    args = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", dockerfile, flags=re.MULTILINE))
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\w+))?", dockerfile, flags=re.MULTILINE)
    assert len(stages) == 2, "a build stage with the compilers, and the runtime stage"
    for image, _name in stages:
        base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], image)
        assert re.search(r":\d+\.\d+\.\d+", base), f"base image {base} is not pinned to a patch"
    for line in re.findall(r"^COPY\s+(.+)$", dockerfile, flags=re.MULTILINE):
        if line.startswith("--from="):
            stage = line.split()[0].split("=", 1)[1]
            assert stage in {name for _, name in stages}, f"COPY from unknown stage {stage}"
            continue
        *sources, _target = line.split()
        for source in sources:
            assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"


def test_the_compilers_stay_in_the_build_stage() -> None:
    # PyICU is compiled against ICU: the build stage needs its headers, pkg-config and g++; the
    # image that runs needs only the ICU runtime library, and installs wheels without an index.
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    build, runtime = re.split(r"^FROM\s", dockerfile, flags=re.MULTILINE)[1:]
    for package in ("g++", "pkg-config", "libicu-dev"):
        assert re.search(rf"apt-get install[^\n]*\s{re.escape(package)}(\s|$)", build), package
        assert package not in runtime, f"{package} is in the runtime stage"
    assert "pip wheel --wheel-dir /wheels ." in build
    assert re.search(r"apt-get install[^\n]*\slibicu\d+(\s|$)", runtime)
    assert "pip install --no-index --find-links /wheels tradewatch" in runtime


def test_bind_mounts_exist() -> None:
    named = set(COMPOSE.get("volumes") or {})
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = _mount(volume)[0]
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in named, f"{name} uses undeclared volume {source}"


def _environment(service: dict[str, Any]) -> dict[str, Any]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        return dict(item.split("=", 1) for item in environment)
    return dict(environment)


def test_environment_names_match_settings() -> None:
    fields = {f"TRADEWATCH_{name.upper()}" for name in Settings.model_fields}
    used = {
        key
        for service in SERVICES.values()
        for key in _environment(service)
        if key.startswith("TRADEWATCH_")
    }
    assert used, "no TRADEWATCH_ settings in docker-compose.yml"
    assert used <= fields, f"unknown settings: {sorted(used - fields)}"


def test_services_that_stay_up_have_health_checks() -> None:
    for name, service in SERVICES.items():
        check = service.get("healthcheck", {})
        if service.get("restart") == "no":
            continue  # one-shot jobs
        assert check.get("test"), f"{name} has no healthcheck"


def test_the_topics_job_creates_the_topics_the_worker_uses() -> None:
    # The worker's own topics (observations, changelog) are named after its app id: the job
    # that creates them must see the same id and partition count as the worker.
    from streams.topics import topic_names

    topics_env = {
        k: v for k, v in _environment(SERVICES["topics"]).items() if k.startswith("TRADEWATCH_")
    }
    worker_env = _environment(SERVICES["worker"])
    for name in (
        "TRADEWATCH_APP_ID",
        "TRADEWATCH_TOPIC_PARTITIONS",
        "TRADEWATCH_TOPIC_DECLARATIONS",
    ):
        assert topics_env[name] == worker_env[name], name
    defaults = {k: re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(v)) for k, v in topics_env.items()}
    settings = Settings(
        app_id=defaults["TRADEWATCH_APP_ID"],
        topic_partitions=int(defaults["TRADEWATCH_TOPIC_PARTITIONS"]),
    )
    assert {"tradewatch-observations", "tradewatch-window-state-changelog"} <= set(
        topic_names(settings)
    )


def test_the_worker_health_check_asks_the_liveness_endpoint() -> None:
    assert "/healthz" in " ".join(SERVICES["worker"]["healthcheck"]["test"])


def _dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text(encoding="utf-8")


@pytest.mark.parametrize(("name", "setting"), [("worker", "TRADEWATCH_DATA_DIR"),
                                               ("desk", "TRADEWATCH_DESK_DATABASE")])  # fmt: skip
def test_every_named_volume_is_made_and_owned_by_the_image_user_where_the_service_writes(
    name: str, setting: str
) -> None:
    # A named volume comes up with the owner of the folder it is mounted on in the image: the
    # folder must exist there, belong to the user the image runs as, and be where the service
    # keeps its state.
    dockerfile = _dockerfile()
    [user] = re.findall(r"^USER\s+(\S+)", dockerfile, flags=re.MULTILINE)
    assert re.search(rf"useradd\b[^\n]*--uid\s+\d+[^\n]*\b{user}\b", dockerfile), "no such user"
    made = {p for line in re.findall(r"mkdir -p ([^\n&\\]+)", dockerfile) for p in line.split()}
    owned = re.findall(rf"chown -R {user}:{user} (\S+)", dockerfile)
    service = SERVICES[name]
    mounts = [
        _mount(v)[1] for v in service.get("volumes", []) if not _mount(v)[0].startswith((".", "/"))
    ]
    assert mounts, f"the {name} keeps its state on a volume"
    for path in mounts:
        assert path in made, f"the image never creates {path}"
        assert any(path == o or path.startswith(o.rstrip("/") + "/") for o in owned), (
            f"{path} is not owned by {user}"
        )
    data_dir = _environment(service).get(setting) or re.search(
        rf"{setting}=(\S+)", dockerfile
    ).group(1)  # type: ignore[union-attr]
    if setting == "TRADEWATCH_DESK_DATABASE":
        data_dir = str(Path(data_dir).parent)
    assert data_dir in mounts, f"the {name} writes to {data_dir}, compose mounts {mounts}"
    [volumes] = re.findall(r"^VOLUME (\[.*\])$", dockerfile, flags=re.MULTILINE)
    assert data_dir in json.loads(volumes)


def test_the_image_health_check_asks_the_liveness_endpoint() -> None:
    assert "/healthz" in _dockerfile()


def test_no_health_check_is_one_that_always_passes() -> None:
    for name, service in SERVICES.items():
        test = " ".join(service.get("healthcheck", {}).get("test", []))
        assert "kill -0 1" not in test, f"{name}: `kill -0 1` passes while the process is stuck"


@pytest.mark.parametrize("name", ["demo-feed", "alertmanager-sink"])
def test_the_feed_and_the_sink_are_healthy_while_their_loop_beats(name: str) -> None:
    service = SERVICES[name]
    assert service["healthcheck"]["test"][1:3] == ["tradewatch", "heartbeat"]
    assert _environment(service)["TRADEWATCH_HEARTBEAT_FILE"] == "/tmp/heartbeat"


def test_the_desk_reads_a_users_file_that_loads_and_answers_its_health_check() -> None:
    from tools.desk.auth import DeskRole, load_users

    desk = SERVICES["desk"]
    env = _environment(desk)
    [source] = [
        _mount(v)[0] for v in desk["volumes"] if _mount(v)[1] == env["TRADEWATCH_DESK_USERS"]
    ]
    users = load_users(ROOT / source)
    assert {user.role for user in users.values()} == set(DeskRole)
    port = str(env["TRADEWATCH_DESK_PORT"])
    assert f"127.0.0.1:{port}:{port}" in desk["ports"]
    assert f"127.0.0.1:{port}/healthz" in " ".join(desk["healthcheck"]["test"])
