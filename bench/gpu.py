"""The GPU figures in one short run: CLIP encoding, batched counterfactuals, GNN training.

Each row puts the GPU against this same machine's CPU on the same work (the peer is the CPU
side; the ratio is the GPU's speed-up): encoding 512 crops at batch 64 with the bundled CLIP
model; 200,000 continuous counterfactuals of the braking SCM in one batch; 40 epochs of DistMult
on Kinships (PyKEEN's copy), whose test MRR is compared as well. With two or more GPUs it also
trains through ``mmreason train-gnn --nproc 2`` (NCCL). ``bench/gpu.sh`` runs it; the whole run
is sized to finish within 8 minutes. Without CUDA it says so and measures nothing, unless
``MMREASON_GPU_DRY_RUN=1`` (the CI check of this file), which runs every row on the CPU twice
at small sizes.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.harness import BenchReport, Comparison


def _median_seconds(fn: Callable[[], Any], sync: Callable[[], None], *, repeat: int, warmup: int) -> float:
    for _ in range(warmup):
        fn()
        sync()
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        sync()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def _sync_for(device: str) -> Callable[[], None]:
    import torch

    return torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)


def _clip(devices: tuple[str, str], crops: int) -> Comparison:
    from mmreason.vision.encoder import ClipEncoder
    from mmreason.vision.proposals import square_crop
    from mmreason.worlds.crossing import render_scene

    pictures: list[Any] = []
    seed = 770_000
    while len(pictures) < crops:
        image, truth = render_scene(seed)
        pictures.extend(square_crop(image, o.bbox) for o in truth.objects)
        seed += 1
    pictures = pictures[:crops]
    times = []
    for device in devices:
        encoder = ClipEncoder.default(device=device)

        def encode(encoder: Any = encoder) -> None:
            for start in range(0, len(pictures), 64):
                encoder.encode_images(pictures[start : start + 64])

        times.append(_median_seconds(encode, _sync_for(device), repeat=5, warmup=1))
    return Comparison(
        f"CLIP: encode {crops} crops at batch 64 (preprocessing included)",
        times[0],
        times[1],
        devices[1],
        runs=5,
    )


def _counterfactuals(devices: tuple[str, str], n: int) -> Comparison:
    from mmreason.causal import SCM
    from mmreason.paths import bundled_graphs_dir

    path = bundled_graphs_dir() / "braking.scm.toml"
    times, means = [], []
    for device in devices:
        scm = SCM.from_file(path, device=device)
        units = scm.sample(n, seed=1)[list(scm.variables)]

        def ask(scm: Any = scm, units: Any = units) -> Any:
            return scm.counterfactual_batch("Margin", evidence=units, do={"Speed": 10.0})

        times.append(_median_seconds(ask, _sync_for(device), repeat=5, warmup=1))
        means.append(float(ask().means().mean()))
    agrees = abs(means[0] - means[1]) < 1e-3 * max(1.0, abs(means[1]))
    return Comparison(
        f"SCM: {n:,} continuous counterfactuals in one batch (braking SCM)",
        times[0],
        times[1],
        devices[1],
        runs=5,
        agrees=agrees,
        agreement=f"mean margin {means[0]:.4f} vs {means[1]:.4f}",
    )


def _gnn(devices: tuple[str, str], epochs: int) -> list[Comparison]:
    from pykeen.datasets import Kinships

    from mmreason.gnn import train_link_predictor

    data = Kinships()

    def labelled(factory: Any) -> list[tuple[str, str, str]]:
        entities = {v: k for k, v in factory.entity_to_id.items()}
        relations = {v: k for k, v in factory.relation_to_id.items()}
        return [(entities[h], relations[r], entities[t]) for h, r, t in factory.mapped_triples.tolist()]

    train, valid, test = labelled(data.training), labelled(data.validation), labelled(data.testing)
    results = []
    for device in devices:
        start = time.perf_counter()
        predictor = train_link_predictor(
            train, valid=valid, test=test, model="distmult", epochs=epochs, device=device, progress=False
        )
        _sync_for(device)()
        results.append((time.perf_counter() - start, predictor.test_metrics.mrr))
    close = abs(results[0][1] - results[1][1]) < 0.03
    return [
        Comparison(
            f"GNN: Kinships DistMult, {epochs} epochs with validation (one run a side)",
            results[0][0],
            results[1][0],
            devices[1],
            runs=1,
        ),
        Comparison(
            "GNN: Kinships test MRR",
            results[0][1],
            results[1][1],
            devices[1],
            unit="",
            higher_is_better=True,
            agrees=close,
            agreement="within 0.03" if close else "differ by 0.03 or more",
        ),
    ]


def _nccl(epochs: int) -> Comparison | None:
    import torch

    if torch.cuda.device_count() < 2:
        return None
    from bench.scale import _write_kinships

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _write_kinships(folder)
        runs = {}
        for nproc in (1, 2):
            command = [sys.executable, "-m", "mmreason", "--device", "cuda", "train-gnn"]
            command += [str(folder / "train.tsv"), "--valid", str(folder / "valid.tsv")]
            command += ["--test", str(folder / "test.tsv"), "--model", "distmult", "--epochs", str(epochs)]
            command += ["--nproc", str(nproc), "--metrics", str(folder / f"m{nproc}.json")]
            command += ["--out", str(folder / f"model{nproc}")]
            subprocess.run(command, check=True, capture_output=True)
            record = json.loads((folder / f"m{nproc}.json").read_text())
            runs[nproc] = record["epochs_run"] / record["seconds"]
    return Comparison(
        f"DDP (NCCL): Kinships epochs/s, 2 GPUs vs 1 ({epochs} epochs)",
        runs[2],
        runs[1],
        "1 GPU",
        unit="epochs/s",
        higher_is_better=True,
    )


def run(*, quick: bool, device: str, out: Path) -> BenchReport:
    import torch

    dry = os.environ.get("MMREASON_GPU_DRY_RUN") == "1"
    if not torch.cuda.is_available() and not dry:
        return BenchReport("gpu", (), notes=("no CUDA device here: nothing measured",))
    gpu = "cpu" if dry else (device if device.startswith("cuda") else "cuda")
    devices = (gpu, "cpu")
    small = quick or dry
    rows = [
        _clip(devices, 64 if small else 512),
        _counterfactuals(devices, 5_000 if small else 200_000),
        *_gnn(devices, 2 if small else 40),
    ]
    nccl = None if dry else _nccl(10 if quick else 40)
    if nccl is not None:
        rows.append(nccl)
    name = "cpu (dry run)" if dry else torch.cuda.get_device_name(0)
    return BenchReport(
        "gpu",
        tuple(rows),
        params={"device": gpu, "gpu": name, "gpus": torch.cuda.device_count(), "dry_run": dry},
        notes=() if nccl else ("one GPU: the NCCL row needs two",),
    )
