import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from defect_platform.bench import run as bench


class Command(BaseCommand):
    help = (
        "Measure inference, memory, the ensemble, label saves and training steps; "
        "print a table and write JSON."
    )

    def add_arguments(self, parser):
        default_data = Path(__file__).resolve().parents[4].parent / "shared/datasets/magnetic-tile"
        parser.add_argument("--out", type=Path, default=Path("bench.json"))
        parser.add_argument("--data", type=Path, default=default_data)
        parser.add_argument("--quick", action="store_true", help="tiny sizes, one repetition")
        parser.add_argument(
            "--train-minutes", type=float, default=4.0, help="training time of the accuracy model"
        )
        parser.add_argument("--threads", type=int, default=bench.default_threads())

    def handle(self, out, data, quick, train_minutes, threads, **options):
        plan = bench.Plan(quick, data, train_minutes, threads)
        try:
            figures = bench.run(plan, log=self.stdout.write)
        except FileNotFoundError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"\n{'figure':44s} value")
        for key, value in figures.items():
            if isinstance(value, dict | list):
                continue  # the machine, per-client and per-step detail: in the JSON
            shown = f"{value:.3f}" if isinstance(value, float) else str(value)
            self.stdout.write(f"{key:44s} {shown}")
        m = figures["machine"]
        self.stdout.write(
            f"\nmachine: {m['cpu']}, {m['cores']} cores, AVX-512 {m['avx512']}, AMX {m['amx']}, "
            f"bf16 faster than fp32: training {m['bf16_trains_faster']}, "
            f"serving {m.get('bf16_serves_faster', False)}"
        )
        out.write_text(json.dumps(figures, indent=2))
        self.stdout.write(f"written to {out}")
