import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from defect_platform.bench.machine import describe
from training import quality


class Command(BaseCommand):
    help = (
        "Train the default recipe, a plain reference and the soft-label recipe on real data, "
        "evaluate each on a held-out split over several seeds, and print a table."
    )

    def add_arguments(self, parser):
        default_data = Path(__file__).resolve().parents[3].parent / "shared/datasets/magnetic-tile"
        parser.add_argument("--data", type=Path, default=default_data)
        parser.add_argument("--positives", default="MT_Blowhole")
        parser.add_argument("--negatives", default="MT_Free")
        parser.add_argument(
            "--n-negatives",
            type=int,
            default=None,
            help="defect-free images to add (default: as many as positives)",
        )
        parser.add_argument("--minutes", type=float, default=15.0, help="training time per run")
        parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
        parser.add_argument(
            "--recipes", nargs="+", default=quality.PROTOCOL, choices=list(quality.RECIPES)
        )
        parser.add_argument(
            "--size",
            type=int,
            nargs=2,
            metavar=("HEIGHT", "WIDTH"),
            help="every recipe's input size (default: what the images suggest, and a plain "
            "script's 256 x 256 for plain)",
        )
        parser.add_argument("--out", type=Path, default=Path("quality.json"))
        parser.add_argument(
            "--combine",
            type=Path,
            nargs="+",
            metavar="REPORT",
            help="train nothing: print one table for the runs of earlier reports of this command "
            "(runs made side by side, one process per core, on this same machine)",
        )

    def handle(self, *, out, combine, **o):
        if combine:
            try:
                results, machine = quality.combine([_read_report(path) for path in combine])
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            self._report(results, machine, out)
            return
        if not (o["data"] / o["positives"]).is_dir():
            raise CommandError(f"{o['data'] / o['positives']} is not a folder of images and masks.")
        names = ("data", "positives", "negatives", "n_negatives", "minutes", "seeds", "recipes")
        results = quality.run(*(o[n] for n in names), o["size"], log=self.stdout.write)
        # Epochs in the time budget, and so every figure, depend on the CPU.
        self._report(results, describe(), out)

    def _report(self, results, machine, out):
        rows = quality.summary(results)
        self.stdout.write(
            f"\n{machine['cpu']}, {machine['cores']} cores, AVX-512 {machine['avx512']}, "
            f"AMX {machine['amx']}, bf16 training {machine['bf16_trains_faster']}"
        )
        self.stdout.write(f"\n{'recipe':10s} {'runs':>4s} {'image F1':>16s} {'defect IoU':>16s}")
        for r in rows:
            self.stdout.write(
                f"{r['recipe']:10s} {r['runs']:4d} {r['f1_mean']:8.3f} ± {r['f1_sd']:.3f}"
                f" {r['iou_mean']:8.3f} ± {r['iou_sd']:.3f}"
            )
        verdicts = quality.against_plain(rows)
        if verdicts:
            self.stdout.write(
                f"\n{'vs plain':10s} {'F1 gain / spread':>22s} {'IoU gain / spread':>22s}"
            )
        for v in verdicts:
            self.stdout.write(
                f"{v['recipe']:10s} {v['f1_gain']:+11.3f} / {v['f1_spread']:.3f}"
                f" {v['iou_gain']:+11.3f} / {v['iou_spread']:.3f}"
                f"  {'beats plain' if v['beats_plain'] else 'does not beat plain'}"
            )
        report = {
            "machine": machine,
            "runs": [r.__dict__ for r in results],
            "summary": rows,
            "vs_plain": verdicts,
        }
        out.write_text(json.dumps(report, indent=2))
        self.stdout.write(f"written to {out}")


def _read_report(path: Path) -> dict:
    try:
        report = json.loads(path.read_text())
        report["runs"], report["machine"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CommandError(f"{path} is not a report of this command: {exc}") from exc
    return report
