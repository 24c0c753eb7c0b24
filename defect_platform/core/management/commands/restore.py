from django.core.management.base import BaseCommand, CommandError

from defect_platform.core.backup import BackupError, restore


class Command(BaseCommand):
    help = (
        "Restore a `manage.py backup` archive into this platform's empty database and media "
        "folder (it migrates the database itself), e.g. an embedded SQLite install into "
        "PostgreSQL."
    )

    def add_arguments(self, parser):
        parser.add_argument("path")

    def handle(self, path, **options):
        try:
            manifest = restore(path)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"restored {sum(manifest['counts'].values())} rows and {len(manifest['media'])} "
            f"files made on {manifest['created_at']} ({manifest['database']})"
        )
