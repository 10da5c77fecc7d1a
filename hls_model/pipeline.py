"""The five steps, each reading the previous steps' outputs under one work folder and skipping itself
when its inputs did not change (``step_cache``).

=========  ==========================================================================================
step       outputs (under ``<work>/<step>/``)
=========  ==========================================================================================
generate   ``train.npz validation.npz test.npz`` (features + beats), ``examples/*.flac *.beats``
train      ``model.h5 weights.npz normalisation.json training.json``
evaluate   ``metrics.json`` (test songs, and the example/given recordings)
convert    ``hls_project/`` (compiled C emulation), ``ip_interface.json emulation.json``
package    ``beat-model-<release>/``, ``beat-model-<release>.tar.gz``, ``release.json``
=========  ==========================================================================================

Each ``run_*`` returns a short summary dict (with ``"skipped": True`` when nothing was done) and
takes a ``rich.progress.Progress`` for its progress bars.

Example::

    from hls_model import pipeline
    for step in pipeline.STEPS:
        print(pipeline.run(step, PipelineConfig.ci(), Path("build/hls_model"), progress))
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from rich.progress import Progress

from hls_model import dataset, package, recordings
from hls_model.config import PipelineConfig
from hls_model.step_cache import code_sha256, file_sha256, is_current, mark_done
from rhythm_service import features, register_map

STEPS = ("generate", "train", "evaluate", "convert", "package")
MODEL_FILES = ("model.h5", "weights.npz", "normalisation.json")
HLS_EXCLUDE = ("*.so", "*.o", "*.log", "keras_model.keras", "*_prj")  # machine-specific or build outputs


class StepFailed(RuntimeError):
    """A step ran and its result is not acceptable (e.g. the emulation disagrees with Keras)."""


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def _hashes(folder: Path, names: tuple[str, ...]) -> dict[str, str]:
    return {name: file_sha256(folder / name) for name in names}


def _require(folder: Path, names: tuple[str, ...], step: str) -> None:
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        raise StepFailed(f"{folder} has no {', '.join(missing)}: run `python -m hls_model {step}` first")


# ---- generate --------------------------------------------------------------------------------


def run_generate(config: PipelineConfig, work: Path, progress: Progress, force: bool = False) -> dict:
    """Generate the songs of every split, extract their features, write the example recordings."""
    out = work / "generate"
    inputs = {"dataset": config.section("dataset"), "code": code_sha256()}
    if not force and is_current(out, inputs):
        return {"skipped": True}
    out.mkdir(parents=True, exist_ok=True)
    summary: dict = {"songs": {}}
    for split in dataset.SPLITS:
        task = progress.add_task(f"generate {split} songs", total=dataset.split_size(config.dataset, split))
        songs = []
        for song in dataset.iter_split(config.dataset, split, workers=2):
            songs.append(song)
            progress.advance(task)
        dataset.save_split(out / f"{split}.npz", songs)
        summary["songs"][split] = len(songs)
    examples = out / "examples"
    shutil.rmtree(examples, ignore_errors=True)
    examples.mkdir()
    for index in range(config.dataset.example_recordings):
        song = dataset.song_of(config.dataset, "test", index)
        recordings.save_audio(examples / f"test-{index:04d}.flac", song.audio)
        recordings.save_beats(examples / f"test-{index:04d}.beats", song.beats)
    mark_done(out, inputs)
    return summary


# ---- train -----------------------------------------------------------------------------------


def run_train(config: PipelineConfig, work: Path, progress: Progress, force: bool = False) -> dict:
    """Train the network; write the Keras model, the npz weights, the statistics and the history."""
    from hls_model import model as beat_model
    from hls_model import numpy_model
    from hls_model.train import EpochProgress, train

    data, out = work / "generate", work / "train"
    _require(data, ("train.npz", "validation.npz"), "generate")
    inputs = {
        "dataset": config.section("dataset"),
        "model": config.section("model"),
        "train": config.section("train"),
        "data": _hashes(data, ("train.npz", "validation.npz")),
        "code": code_sha256(),
    }
    if not force and is_current(out, inputs):
        return {"skipped": True, **json.loads((out / "training.json").read_text())}
    out.mkdir(parents=True, exist_ok=True)
    callback = EpochProgress(progress, config.train.epochs)
    result = train(dataset.load_split(data / "train.npz"), dataset.load_split(data / "validation.npz"), config,
                   callbacks=[callback])
    beat_model.save_model(result.model, out / "model.h5")
    numpy_model.save_weights(out / "weights.npz", beat_model.quantized_parameters(result.model),
                             config.model.activation_bits, config.model.activation_integer_bits)
    result.stats.save(out / "normalisation.json")
    summary = {
        "seconds": round(result.seconds, 1),
        "epochs": len(result.history["loss"]),
        "best_epoch": result.best_epoch,
        "validation_loss": min(result.history["val_loss"]),
        "history": result.history,
    }
    _write_json(out / "training.json", summary)
    mark_done(out, inputs)
    return summary


# ---- evaluate --------------------------------------------------------------------------------


def _recording_pairs(work: Path, extra: list[tuple[Path, Path]]) -> list[tuple[Path, Path]]:
    examples = sorted((work / "generate" / "examples").glob("*.flac"))
    return [(audio, audio.with_suffix(".beats")) for audio in examples] + list(extra)


def numpy_predictor(train_dir: Path) -> Callable[[np.ndarray], np.ndarray]:
    """The numpy forward pass of a trained model (what the service's CPU backend computes)."""
    from hls_model import numpy_model

    weights = numpy_model.load_weights(train_dir / "weights.npz")
    return lambda windows: numpy_model.forward(weights, windows)


def run_evaluate(
    config: PipelineConfig,
    work: Path,
    progress: Progress,
    force: bool = False,
    extra_recordings: list[tuple[Path, Path]] | None = None,
) -> dict:
    """Score the trained model on the test songs and on the recordings (examples + ``extra_recordings``)."""
    from hls_model.evaluate import evaluate

    data, trained, out = work / "generate", work / "train", work / "evaluate"
    _require(trained, MODEL_FILES, "train")
    _require(data, ("test.npz",), "generate")
    pairs = _recording_pairs(work, extra_recordings or [])
    inputs = {
        "dataset": config.section("dataset"),
        "evaluate": config.section("evaluate"),
        "data": _hashes(data, ("test.npz",)),
        "model": _hashes(trained, MODEL_FILES),
        "recordings": {f"{a.name} {b.name}": [file_sha256(a), file_sha256(b)] for a, b in pairs},
        "code": code_sha256(),
    }
    if not force and is_current(out, inputs):
        return {"skipped": True, **_headline(json.loads((out / "metrics.json").read_text()))}
    out.mkdir(parents=True, exist_ok=True)
    stats = features.Normalisation.load(trained / "normalisation.json")
    predict = numpy_predictor(trained)
    songs = dataset.load_split(data / "test.npz")
    task = progress.add_task("evaluate test songs", total=len(songs))
    metrics = evaluate(predict, songs, stats, config, on_song=lambda _: progress.advance(task))
    metrics["recordings"] = [
        {"audio": audio.name, "beats": beats.name,
         **_headline(evaluate(predict, [recordings.load_annotated(audio, beats)], stats, config))}
        for audio, beats in pairs
    ]
    _write_json(out / "metrics.json", metrics)
    mark_done(out, inputs)
    return _headline(metrics)


def _headline(metrics: dict) -> dict:
    keys = ("songs", "frame_accuracy", "roc_auc", "beat_f_measure", "tempo_accuracy", "tempo_accuracy_octave",
            "by_generator", "recordings")
    return {key: metrics[key] for key in keys if key in metrics}


# ---- convert ---------------------------------------------------------------------------------


def run_convert(config: PipelineConfig, work: Path, progress: Progress, force: bool = False) -> dict:
    """Convert with hls4ml, compile the C emulation, compare it with Keras on every test window."""
    from hls_model import convert
    from hls_model import model as beat_model
    from hls_model.evaluate import evaluate
    from hls_model.resources import estimate

    data, trained, out = work / "generate", work / "train", work / "convert"
    _require(trained, MODEL_FILES, "train")
    inputs = {
        "dataset": config.section("dataset"),
        "evaluate": config.section("evaluate"),
        "convert": config.section("convert"),
        "data": _hashes(data, ("test.npz",)),
        "model": _hashes(trained, MODEL_FILES),
        "code": code_sha256(),
    }
    if not force and is_current(out, inputs):
        return {"skipped": True, **_emulation_headline(json.loads((out / "emulation.json").read_text()))}
    out.mkdir(parents=True, exist_ok=True)
    task = progress.add_task("convert with hls4ml, compile the C emulation", total=3)
    keras_model = beat_model.load_model(trained / "model.h5")
    stats = features.Normalisation.load(trained / "normalisation.json")
    songs = dataset.load_split(data / "test.npz")
    windows = np.concatenate([features.windows(stats.apply(song.features), config.model.window) for song in songs])
    testbench = windows[: config.convert.testbench_windows]
    graph = convert.convert(keras_model, config.convert, out / "hls_project", testbench)
    progress.advance(task)
    interface = convert.ip_interface(graph, config.convert)
    interface.save(out / "ip_interface.json")
    started = time.monotonic()
    report = convert.agreement(beat_model.predict(keras_model, windows), convert.emulate(graph, windows),
                               config.evaluate.threshold)
    report["emulation_seconds"] = round(time.monotonic() - started, 2)
    report["resources"] = estimate(graph, config.convert).as_dict()
    progress.advance(task)
    scores = evaluate(lambda w: convert.emulate(graph, w), songs, stats, config)
    report.update(
        beat_f_measure=scores["beat_f_measure"],
        tempo_accuracy=scores["tempo_accuracy"],
        frame_accuracy=scores["frame_accuracy"],
        precision=config.convert.precision,
        reuse_factor=config.convert.reuse_factor,
        platform=config.convert.platform,
        part=config.convert.part,
    )
    progress.advance(task)
    _write_json(out / "emulation.json", report)
    if report["agreement"] < config.convert.min_agreement:
        raise StepFailed(
            f"the C emulation takes Keras' decision on {report['agreement']:.2%} of {report['windows']} test windows, "
            f"below the required {config.convert.min_agreement:.1%} (max |diff| {report['max_abs_diff']:.4f}): "
            "try a wider precision (--precision)"
        )
    mark_done(out, inputs)
    return _emulation_headline(report)


def _emulation_headline(report: dict) -> dict:
    keys = ("windows", "agreement", "max_abs_diff", "beat_f_measure", "platform", "part", "precision", "reuse_factor",
            "resources")
    return {key: report[key] for key in keys}


# ---- package ---------------------------------------------------------------------------------


def run_package(config: PipelineConfig, work: Path, progress: Progress, force: bool = False) -> dict:
    """Assemble the artifact folder, the CL wrapper, the build scripts, the manifest and the tarball."""
    from hls_model.build_commands import write_build_scripts
    from hls_model.cl_wrapper import render_cl
    from hls_model.ip_interface import IpInterface

    trained, evaluated, converted, out = work / "train", work / "evaluate", work / "convert", work / "package"
    _require(trained, MODEL_FILES, "train")
    _require(evaluated, ("metrics.json",), "evaluate")
    _require(converted, ("ip_interface.json", "emulation.json"), "convert")
    inputs = {
        "config": {name: config.section(name) for name in ("dataset", "model", "train", "evaluate", "convert",
                                                             "hardware")},
        "model": _hashes(trained, (*MODEL_FILES, "training.json")),
        "metrics": _hashes(evaluated, ("metrics.json",)),
        "convert": _hashes(converted, ("ip_interface.json", "emulation.json")),
        "code": code_sha256(),
    }
    if not force and is_current(out, inputs):
        return {"skipped": True, **json.loads((out / "release.json").read_text())}
    task = progress.add_task("package", total=3)
    shutil.rmtree(out, ignore_errors=True)
    staging = out / f"{package.NAME}-staging"
    for name in MODEL_FILES:
        (staging / "model").mkdir(parents=True, exist_ok=True)
        shutil.copy2(trained / name, staging / "model" / name)
    shutil.copytree(
        converted / "hls_project", staging / "hls" / "hls_project", ignore=shutil.ignore_patterns(*HLS_EXCLUDE)
    )
    interface = IpInterface.load(converted / "ip_interface.json")
    interface.save(staging / "hls" / "ip_interface.json")
    weights_sha256 = file_sha256(trained / "weights.npz")
    if config.convert.platform == "f2":
        render_cl(interface, register_map.model_id(weights_sha256), config.hardware.cl_name, staging / "cl")
    commands = write_build_scripts(staging / "build", config, interface)
    (staging / "metrics").mkdir()
    shutil.copy2(evaluated / "metrics.json", staging / "metrics" / "evaluation.json")
    shutil.copy2(converted / "emulation.json", staging / "metrics" / "emulation.json")
    progress.advance(task)
    manifest = package.write_manifest(staging, _manifest(config, work, interface, weights_sha256, commands))
    release = manifest["content_sha256"][:16]
    folder = out / f"{package.NAME}-{release}"
    staging.rename(folder)
    progress.advance(task)
    tar_path = out / f"{folder.name}.tar.gz"
    summary = {
        "release": release,
        "content_sha256": manifest["content_sha256"],
        "folder": folder.name,
        "tarball": tar_path.name,
        "tarball_sha256": package.tarball(folder, tar_path),
        "files": len(manifest["files"]),
    }
    progress.advance(task)
    _write_json(out / "release.json", summary)
    mark_done(out, inputs)
    return summary


def _manifest(config: PipelineConfig, work: Path, interface, weights_sha256: str, commands: dict) -> dict:
    from hls_model.model import INPUT_NAME, OUTPUT_NAME
    from hls_model.platform_parts import PARTS

    metrics = json.loads((work / "evaluate" / "metrics.json").read_text())
    emulation = json.loads((work / "convert" / "emulation.json").read_text())
    training = json.loads((work / "train" / "training.json").read_text())
    parts = PARTS[config.convert.platform]
    input_format = register_map.FixedPoint.parse(interface.input_format)
    output_format = register_map.FixedPoint.parse(interface.output_format)
    return {
        "manifest_format_version": package.MANIFEST_FORMAT_VERSION,
        "name": package.NAME,
        "versions": package.versions(),
        "platform": config.convert.platform,
        "part": parts.part,
        "hls_backend": parts.hls_backend,
        "hls_tool": parts.hls_tool,
        "precision": config.convert.precision,
        "reuse_factor": config.convert.reuse_factor,
        "strategy": config.convert.strategy,
        "clock_period_ns": config.convert.clock_period_ns,
        "model": {
            "architecture": _architecture(work / "train"),
            "input_name": INPUT_NAME,
            "output_name": OUTPUT_NAME,
            "window_frames": config.model.window_frames,
            "reference_frame": config.model.reference_frame,
            "features": list(features.FEATURE_NAMES),
            "sample_rate": features.SAMPLE_RATE,
            "hop_length": features.HOP_LENGTH,
            "weights_sha256": weights_sha256,
        },
        "register_map": {
            "version": register_map.REGISTER_MAP_VERSION,
            "design_id": f"0x{register_map.DESIGN_ID:08X}",
            "model_id": f"0x{register_map.model_id(weights_sha256):08X}",
            "input_format": str(input_format),
            "output_format": str(output_format),
            "format_word": f"0x{register_map.format_word(input_format, output_format):08X}",
            "registers": {name: f"0x{offset:03X}" for name, offset in register_map.REGISTERS.items()},
            "input_base": f"0x{register_map.INPUT_BASE:03X}",
        },
        "ip": interface.as_dict(),
        "cl": {"name": config.hardware.cl_name if config.convert.platform == "f2" else None},
        "metrics": {
            "evaluation": _headline(metrics),
            "emulation": _emulation_headline(emulation),
            "training": {key: training[key] for key in ("epochs", "best_epoch", "validation_loss")},
        },
        "config": {name: config.section(name) for name in ("dataset", "model", "train", "evaluate", "convert",
                                                             "hardware")},
        "build": commands,
    }


def _architecture(trained: Path) -> str:
    """The trained network as its files say, e.g. ``window(16x3) -> QDense 16 -> qrelu -> QDense 8 -> qrelu ->
    QDense 1 -> sigmoid``: the features are the statistics' columns, the frames the first kernel's rows over them.
    """
    n_features = len(json.loads((trained / "normalisation.json").read_text())["mean"])
    with np.load(trained / "weights.npz") as weights:
        count = sum(name.endswith("/kernel") for name in weights.files)
        kernels = [weights[f"dense_{k}/kernel"] for k in range(1, count + 1)]
    frames, extra = divmod(kernels[0].shape[0], n_features)
    if extra:
        raise StepFailed(f"{trained}: dense_1 takes {kernels[0].shape[0]} inputs, not whole frames of {n_features}")
    layers = " -> qrelu -> ".join(f"QDense {kernel.shape[1]}" for kernel in kernels)
    return f"window({frames}x{n_features}) -> {layers} -> sigmoid"


RUNNERS = {
    "generate": run_generate,
    "train": run_train,
    "evaluate": run_evaluate,
    "convert": run_convert,
    "package": run_package,
}
