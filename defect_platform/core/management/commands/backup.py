from django.core.management.base import BaseCommand, CommandError

from defect_platform.core.backup import BackupError, backup


class Command(BaseCommand):
    help = (
        "Back up the database and media folder into one tar file (a consistent snapshot; "
        "restore with `manage.py restore`, also into another database engine)."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="the archive to write; it must not exist")

    def handle(self, path, **options):
        try:
            manifest = backup(path)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        rows = sum(manifest["counts"].values())
        size = sum(m["size"] for m in manifest["media"].values())
        self.stdout.write(
            f"backed up {rows} rows and {len(manifest['media'])} files "
            f"({size / 1e6:.1f} MB) from {manifest['database']} to {path}"
        )
        for name in manifest["vanished"]:
            self.stderr.write(f"warning: {name} was deleted while backing up; its row has no file")
