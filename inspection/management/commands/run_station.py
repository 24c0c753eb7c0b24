import asyncio
import contextlib

from django.core.management.base import BaseCommand, CommandError

from inspection import live
from inspection.models import Station


class Command(BaseCommand):
    help = "Run a station's capture loop in this process, publishing through the channel layer."

    def add_arguments(self, parser):
        parser.add_argument("station_id", type=int)

    def handle(self, station_id, **options):
        station = Station.objects.filter(pk=station_id).first()
        if station is None:
            raise CommandError(f"No station with id {station_id}.")
        self.stdout.write(
            f"running station {station.pk} ({station.name}), "
            f"{len(station.cameras)} cameras at {station.fps} captures/s"
        )
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(live.run_forever(station))
