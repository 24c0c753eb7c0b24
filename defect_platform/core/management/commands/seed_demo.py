"""Create a demo admin, demo projects of synthetic reed-straw defects and a live station.

Runs only on an empty database, so restarting the platform never duplicates or resets data.
"""

import io

import numpy as np
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from PIL import Image as PILImage

from annotation.imaging import encode_png
from annotation.services import add_image, save_label
from defect_platform.core.models import Membership, Project
from defect_platform.core.roles import Role
from defect_platform.synthetic import straws
from inspection.models import Station

DEMO_PROJECTS = [
    ("Crack", "crack", "#e4572e", "Thin dark lines along the fibre. Paint the whole line."),
    ("Spot", "spot", "#7b2cbf", "Dark spots and mould blotches. Paint each blotch."),
]
SIZE = (128, 608)


def _png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    PILImage.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


class Command(BaseCommand):
    help = "Seed a demo admin, demo projects with labelled synthetic images and a station."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--password", default="admin")
        parser.add_argument("--images", type=int, default=16, help="positives per project")

    def handle(self, username, password, images, **options):
        if Project.objects.exists():
            self.stdout.write("database already holds projects; demo not seeded")
            return
        with transaction.atomic():
            user_model = get_user_model()
            admin = user_model.objects.filter(username=username).first()
            if admin is None:
                admin = user_model.objects.create_superuser(username, "", password)
            projects = []
            for index, (name, defect, color, guide) in enumerate(DEMO_PROJECTS):
                project = Project.objects.create(
                    name=name,
                    slug=name.lower(),
                    color=color,
                    labeling_guide=guide,
                    description=f"Synthetic reed straws with {defect} defects.",
                    input_height=SIZE[0],
                    input_width=SIZE[1],
                    created_by=admin,
                )
                Membership.objects.create(user=admin, project=project, role=Role.OWNER)
                self._images(project, admin, defect, images, seed=1000 * (index + 1))
                projects.append(project)
            people = self._role_accounts(projects)
            station = Station.objects.create(
                name="Line 1",
                fps=4.0,
                cameras=[{"name": f"cam{i + 1}", "kind": "synthetic"} for i in range(3)],
            )
            station.projects.set(projects)
        self.stdout.write(
            self.style.SUCCESS(
                f"demo seeded: {len(projects)} projects, station {station.name!r}, "
                f"login {username} / {password}; one account per role, password = name: "
                f"{', '.join(people)}"
            )
        )

    def _role_accounts(self, projects) -> list[str]:
        """One demo account per role in every demo project (password = the role's name), so
        each role's pages can be tried: annotate, review, inspect, supervise."""
        names = []
        for role in (Role.ANNOTATOR, Role.REVIEWER, Role.ENGINEER, Role.INSPECTOR, Role.SUPERVISOR):
            user = get_user_model().objects.create_user(role.value, "", role.value)
            for project in projects:
                Membership.objects.create(user=user, project=project, role=role)
            names.append(role.value)
        return names

    def _images(self, project, user, defect, count, seed):
        for i in range(count + count // 2):
            negative = i >= count
            view = straws.generate(seed + i, None if negative else defect, SIZE, negative)
            image, _ = add_image(project, _png(view.image), f"straw-{seed + i}.png", user)
            if negative:
                save_label(image, user, "negative", None, False, None)
            else:
                save_label(image, user, "mask", encode_png(view.masks[defect]), False, None)
