import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from training import fused_quality


class Command(BaseCommand):
    help = (
        "One model per defect type against one fused model for all of them, on the same "
        "real images and training time; per type image F1 and defect IoU on held-out images."
    )

    def add_arguments(self, parser):
        default_data = Path(__file__).resolve().parents[3].parent / "shared/datasets/magnetic-tile"
        parser.add_argument("--data", type=Path, default=default_data)
        parser.add_argument("--types", nargs="+", default=["MT_Blowhole", "MT_Break", "MT_Uneven"])
        parser.add_argument("--minutes", type=float, default=5.0, help="training time per type")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--threads", type=int, default=2)
        parser.add_argument("--size", type=int, nargs=2, default=[256, 256])
        parser.add_argument("--out", type=Path, default=Path("fused_quality.json"))

    def handle(self, data, types, minutes, seed, threads, size, out, **options):
        missing = [t for t in [*types, fused_quality.FREE] if not (data / t / "Imgs").is_dir()]
        if missing:
            raise CommandError(f"{data} lacks the image folders {', '.join(missing)}.")
        report = fused_quality.compare(data, types, minutes, seed, threads, tuple(size))
        self.stdout.write(
            f"\n{'type':14s} {'held out':>8s} {'own F1':>7s} {'fused F1':>8s} "
            f"{'own IoU':>7s} {'fused IoU':>9s} {'F1 gap pp':>9s}"
        )
        for r in report["types"]:
            self.stdout.write(
                f"{r['type']:14s} {r['held_out']:8d} {r['ensemble']['f1']:7.3f} "
                f"{r['fused']['f1']:8.3f} {r['ensemble']['iou']:7.3f} {r['fused']['iou']:9.3f} "
                f"{r['f1_gap_pp']:9.1f}"
            )
        self.stdout.write(f"mean F1 gap (fused - own): {report['mean_f1_gap_pp']:.1f} pp")
        out.write_text(json.dumps(report, indent=2))
        self.stdout.write(f"written to {out}")
