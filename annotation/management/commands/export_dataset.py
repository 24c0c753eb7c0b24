from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotation.exporting import export_zip
from annotation.formats.export import FORMATS
from defect_platform.core.models import Project
from training.models import DatasetSnapshot


class Command(BaseCommand):
    help = (
        "Write a project's labels to a zip: coco (exact RLE), via (polygon outlines) or masks "
        "(images/, masks/ with soft values, manifest.json). import_dataset reads each back. "
        "With --snapshot, exactly a training snapshot's images and label versions, each marked "
        "train or validation."
    )

    def add_arguments(self, parser):
        parser.add_argument("project", help="project slug or id")
        parser.add_argument("out", type=Path, help="the zip file to write")
        parser.add_argument("--format", choices=FORMATS, default="masks")
        parser.add_argument(
            "--snapshot", type=int, default=None, help="a training snapshot (dataset) id"
        )

    def handle(self, project, out, format, snapshot, **options):
        target = Project.objects.filter(slug=project).first()
        if target is None and project.isdigit():
            target = Project.objects.filter(pk=int(project)).first()
        if target is None:
            raise CommandError(f"No project {project!r}.")
        dataset = None
        if snapshot is not None:
            dataset = DatasetSnapshot.objects.filter(pk=snapshot, project=target).first()
            if dataset is None:
                raise CommandError(f"Project {target.name!r} has no snapshot {snapshot}.")
        data, count = export_zip(target, format, dataset)
        if not count:
            raise CommandError(f"Project {target.name!r} has no labels to export yet.")
        partial = out.with_suffix(out.suffix + ".partial")
        with data, open(partial, "wb") as fh:
            while chunk := data.read(1 << 20):
                fh.write(chunk)
        partial.replace(out)  # never a half-written zip under the final name
        self.stdout.write(self.style.SUCCESS(f"{count} images written to {out}"))
