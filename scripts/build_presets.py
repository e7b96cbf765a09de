"""Build ``src/gpucredit/config/presets/generations.yaml`` from the shipped data.

Sources (both shipped in ``src/gpucredit/data``):

* ``gpu_generations.csv``: announcement and volume-availability dates per Nvidia generation;
* ``ml_hardware_epoch.csv``: Epoch AI chip dataset, TDP (W), memory, dense BF16 FLOP/s.

Run ``python scripts/build_presets.py`` after changing either file; a test checks that the
committed YAML equals what this script builds, so the two cannot drift apart.
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "gpucredit" / "data"
OUT = ROOT / "src" / "gpucredit" / "config" / "presets" / "generations.yaml"

# Which row of Epoch's chip dataset stands for each generation (the SXM part that fleets use).
EPOCH_ROW = {
    "A100": "NVIDIA A100 SXM4 80 GB",
    "H100": "NVIDIA H100 SXM5 80GB",
    "H200": "NVIDIA H200 SXM",
    "B200": "NVIDIA B200",
    "B300": "NVIDIA B300",
}
# GB200 is left out: Epoch's "GB200 NVL2" row describes a two-GPU board (384 GB), not one GPU,
# so a GB200 cohort must state power_kw_per_gpu itself.
# Row of gpu_generations.csv for each generation, and the order of succession.
GENERATION_ROW = {
    "A100": "A100",
    "H100": "H100",
    "H200": "H200",
    "B200": "B200",
    "GB200": "GB200 NVL72",
    "B300": "GB300 / B300 (Blackwell Ultra)",
    "RUBIN": "Vera Rubin (NVL144)",
}
# Memory per board is missing for H200 in Epoch's row; the H200's 141 GB is stated in
# gpu_generations.csv ("Hopper (HBM3e, 141 GB)").
MEMORY_FALLBACK_GB = {"H200": 141.0}

# Server-level IT power per GPU = GPU TDP x this multiple. NVIDIA DGX H100 datasheet: 10.2 kW
# maximum system power for 8 H100 SXM (700 W TDP each): 10.2 / (8 * 0.7) = 1.82. The CPUs,
# NICs, NVSwitches, fans and storage around the GPU draw the rest. Used for every generation.
SERVER_POWER_MULTIPLE = round(10.2 / (8 * 0.7), 4)

_HALF = {"first half": "04-01", "second half": "10-01", "h1": "04-01", "h2": "10-01"}
_QUARTER = {"q1": "02-15", "q2": "05-15", "q3": "08-15", "q4": "11-15"}
_MONTHS = {
    m: f"{i:02d}"
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}


def volume_date(text: str, fallback_year: str | None = None) -> str:
    """The date volume shipments began, from the free text of ``volume_availability``.

    Rules (documented so the numbers can be checked): an ISO date wins; "QN YYYY" is the middle
    of that quarter; "first/second half of YYYY" and "H1/H2 YYYY" are 1 April / 1 October;
    "late YYYY" is 1 October; a bare year is 1 July.
    """
    lowered = text.lower()
    iso = re.search(r"(\d{4}-\d{2}-\d{2})", lowered)
    if iso:
        return iso.group(1)
    quarter = re.search(r"\b(q[1-4])\s*(\d{4})", lowered)
    if quarter:
        return f"{quarter.group(2)}-{_QUARTER[quarter.group(1)]}"
    for key, month_day in _HALF.items():
        found = re.search(rf"{key}\s*(?:of\s*)?(\d{{4}})", lowered)
        if found:
            return f"{found.group(1)}-{month_day}"
    late = re.search(r"late\s*(\d{4})", lowered)
    if late:
        return f"{late.group(1)}-10-01"
    year = re.search(r"(\d{4})", lowered) or (re.search(r"(\d{4})", fallback_year or ""))
    if year:
        return f"{year.group(1)}-07-01"
    raise ValueError(f"cannot read a date from {text!r}")


def main() -> int:
    with (DATA / "ml_hardware_epoch.csv").open(newline="", encoding="utf-8") as fh:
        chips = {row["Hardware name"]: row for row in csv.DictReader(fh)}
    with (DATA / "gpu_generations.csv").open(newline="", encoding="utf-8") as fh:
        generations = {row["gpu"]: row for row in csv.DictReader(fh)}

    names = list(GENERATION_ROW)
    lines = [
        "# Built by scripts/build_presets.py from src/gpucredit/data/gpu_generations.csv and",
        "# src/gpucredit/data/ml_hardware_epoch.csv. Do not edit by hand: edit the script.",
        f"# it_power_kw_per_gpu = tdp_w / 1000 x {SERVER_POWER_MULTIPLE} (NVIDIA DGX H100",
        "# datasheet: 10.2 kW for 8 x 700 W GPUs).",
        "generations:",
    ]
    for i, name in enumerate(names):
        gen = generations[GENERATION_ROW[name]]
        successor = names[i + 1] if i + 1 < len(names) else None
        lines.append(f"  {name}:")
        lines.append(f"    architecture: {gen['architecture'].split(' (')[0].strip()!r}")
        announced = re.search(r"\d{4}-\d{2}(?:-\d{2})?", gen["announced"])
        lines.append(f"    announced: {announced.group(0) if announced else None!r}")
        lines.append(
            f"    volume_date: {volume_date(gen['volume_availability'], gen['announced'])!r}"
        )
        lines.append(f"    successor: {successor!r}" if successor else "    successor: null")
        chip = chips.get(EPOCH_ROW.get(name, ""))
        if chip is None:
            lines.append("    release_date: null")
            lines.append("    tdp_w: null")
            lines.append("    it_power_kw_per_gpu: null")
            lines.append("    memory_gb: null")
            lines.append("    bf16_tflops: null")
            lines.append(f"    source: {gen['source']!r}")
            continue
        tdp = float(chip["TDP (W)"])
        memory = chip["Memory size per board (Byte)"]
        memory_gb = float(memory) / 1e9 if memory else MEMORY_FALLBACK_GB.get(name)
        bf16 = chip["Tensor-FP16/BF16 performance (FLOP/s)"]
        lines.append(f"    release_date: {chip['Release date']!r}")
        lines.append(f"    tdp_w: {tdp}")
        lines.append(f"    it_power_kw_per_gpu: {round(tdp / 1000 * SERVER_POWER_MULTIPLE, 4)}")
        lines.append(f"    memory_gb: {memory_gb}")
        lines.append(f"    bf16_tflops: {float(bf16) / 1e12 if bf16 else 'null'}")
        lines.append(f"    epoch_chip_row: {EPOCH_ROW[name]!r}")
        lines.append(f"    source: {gen['source']!r}")
    text = "\n".join(lines) + "\n"
    if "--check" in sys.argv:
        return 0 if OUT.read_text(encoding="utf-8") == text else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
