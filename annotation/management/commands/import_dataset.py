from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from annotation.formats.archive import ArchiveRejected
from annotation.importing import MASK_MODES, import_folder, import_zip
from defect_platform.core.models import Project


class Command(BaseCommand):
    help = (
        "Import a folder or zip of images into a defect project. Masks beside the images "
        "(<stem>.png next to <stem>.jpg, or masks/ beside images/) become labels, and so do "
        "the regions of COCO or VIA JSON files in the folder."
    )

    def add_arguments(self, parser):
        parser.add_argument("project", help="project slug or id")
        parser.add_argument("path", type=Path)
        parser.add_argument(
            "--masks",
            choices=MASK_MODES,
            default="binary",
            help="binary: >= 128 is defect (default); soft: value/255",
        )
        parser.add_argument(
            "--category", default=None, help="the COCO category to import, if there are several"
        )
        parser.add_argument(
            "--user", default=None, help="author of the labels (default: the first superuser)"
        )

    def handle(self, project, path, masks, category, user, **options):
        target = Project.objects.filter(slug=project).first()
        if target is None and project.isdigit():
            target = Project.objects.filter(pk=int(project)).first()
        if target is None:
            raise CommandError(f"No project {project!r}.")
        users = get_user_model().objects
        author = (
            users.filter(username=user).first()
            if user
            else users.filter(is_superuser=True).order_by("pk").first()
        )
        if author is None:
            raise CommandError("No such user; name one with --user.")
        if not path.exists():
            raise CommandError(f"{path} does not exist.")

        def progress(done, total):
            if done % 50 == 0 or done == total:
                self.stdout.write(f"  {done}/{total}")

        try:
            if path.is_dir():
                report = import_folder(target, author, path, masks, progress, category)
            else:
                report = import_zip(target, author, path.read_bytes(), masks, progress, category)
        except ArchiveRejected as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"{report.images} images ({report.created} new, "
                f"{report.duplicates} already there), "
                f"{report.labelled} masks, {report.negatives} negatives, masks read as {masks}"
            )
        )
        for error in report.errors:
            self.stdout.write(self.style.WARNING(f"  skipped {error['name']}: {error['reason']}"))
