"""The compose file (not runnable here: no container engine) and the native process file
name the same processes, and every variable they or the code read is documented."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def _procfile() -> dict[str, str]:
    out = {}
    for line in (DEPLOY / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, command = line.split(":", 1)
            out[name.strip()] = command.strip()
    return out


def _compose_services() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]


def _program(command: str) -> str:
    """The part of a command that says what runs: module or manage.py command and queue."""
    words = command.split()
    if "manage.py" in words:
        return " ".join(words[words.index("manage.py") : words.index("manage.py") + 2])
    module = words[words.index("-m") + 1]
    kind = words[words.index("-m") + 4] if module == "celery" else ""
    queue = words[words.index("-Q") + 1] if "-Q" in words else ""
    return f"{module} {kind} {queue}".strip()


def test_compose_and_procfile_run_the_same_processes():
    procfile = _procfile()
    services = _compose_services()
    app_services = {name: s for name, s in services.items() if "command" in s}
    assert set(app_services) == set(procfile)
    for name, command in procfile.items():
        assert _program(app_services[name]["command"]) == _program(command), name


def test_every_compose_process_is_restarted_when_it_dies():
    # The station-worker fault test kills run_station; in production this brings it back.
    for name, service in _compose_services().items():
        assert service.get("restart") == "always", name


def test_every_variable_the_settings_read_is_documented():
    documented = set(
        re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (DEPLOY / ".env.example").read_text(), re.M)
    )
    settings_text = (ROOT / "defect_platform" / "settings.py").read_text()
    read = set(re.findall(r'env_\w+\(\s*"([A-Z][A-Z0-9_]+)"', settings_text))
    assert read, "no variables found in settings.py"
    assert read <= documented, f"undocumented: {sorted(read - documented)}"
    compose_env = set(next(iter(_compose_services().values())).get("environment", {}))
    for service in _compose_services().values():
        compose_env |= set(service.get("environment", {}) or {})
    assert {"DATABASE_URL", "REDIS_URL", "MEDIA_ROOT"} <= compose_env


def test_the_bench_measures_serving_memory_with_the_malloc_arenas_deployed():
    from defect_platform.bench.memory import SERVING_ENV

    arenas = SERVING_ENV["MALLOC_ARENA_MAX"]
    assert f"ENV MALLOC_ARENA_MAX={arenas}" in (DEPLOY / "Dockerfile").read_text()
    assert f"\nMALLOC_ARENA_MAX={arenas}\n" in (DEPLOY / ".env.example").read_text()
    assert f"MALLOC_ARENA_MAX=${{MALLOC_ARENA_MAX:-{arenas}}}" in (DEPLOY / "run.sh").read_text()
