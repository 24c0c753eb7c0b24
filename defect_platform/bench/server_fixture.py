"""Populates a fresh embedded database for the serving benchmark: a user with an API token,
defect projects whose production model is the benchmark's engine model, and a station with six
cameras checking all of them. Run as `python -m defect_platform.bench.server_fixture FOLDER`;
prints JSON ids.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main(folder: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "defect_platform.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from defect_platform.core.models import Membership, Project
    from defect_platform.core.storage import save_bytes
    from inspection.models import Station
    from training.models import ModelVersion

    root = Path(folder)
    spec = json.loads((root / "spec.json").read_text())
    user = get_user_model().objects.create_user("bench", password=None)
    token = Token.objects.create(user=user)
    files = {
        path.name: save_bytes(f"bench/{path.name}", path.read_bytes())
        for path in root.iterdir()
        if path.suffix in (".pt", ".onnx", ".xml", ".bin")
    }
    station = Station.objects.create(
        name="Bench line",
        cameras=[{"name": f"cam{i + 1}"} for i in range(spec["cameras"])],
        fps=spec["fps"],
    )
    # The station's production ensemble: one defect project per model, distinct copies of
    # one network (bench/variants.py: identical ones would be folded into one when merged).
    projects = []
    for k in range(spec["projects"]):
        project = Project.objects.create(
            name=f"Bench defect {k + 1}",
            slug=f"bench-defect-{k + 1}",
            input_height=spec["size"][0],
            input_width=spec["size"][1],
            created_by=user,
        )
        Membership.objects.create(project=project, user=user, role="owner")
        version = ModelVersion.objects.create(
            project=project,
            number=1,
            threshold=0.5,
            min_area=20,
            pixel_threshold=0.5,
            input_height=spec["size"][0],
            input_width=spec["size"][1],
            weights=files["model.pt"],
            onnx=files[f"model{k}.onnx"],
            int8_model=files.get(f"int8_{k}.xml", ""),
            int8_weights=files.get(f"int8_{k}.bin", ""),
            runtime=spec["runtime"],
            is_production=True,
            metadata={"meta": spec["meta"], "runtime_gate": spec["gate"]},
        )
        station.projects.add(project)
        projects.append((project, version))
    project, version = projects[0]
    sys.stdout.write(
        json.dumps(
            {"token": token.key, "project": project.pk, "station": station.pk, "model": version.pk}
        )
        + "\n"
    )


if __name__ == "__main__":
    main(sys.argv[1])
