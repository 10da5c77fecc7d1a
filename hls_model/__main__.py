"""``python -m hls_model generate|train|evaluate|convert|package|all``: the beat model pipeline.

Each step reads the previous steps' outputs under ``--work`` (default ``build/hls_model``) and is
skipped when its inputs did not change (``--force`` reruns it). ``--ci`` uses the small
configuration the tests use.

Examples::

    python -m hls_model all                          # full configuration (the README's numbers)
    python -m hls_model --ci --work /tmp/beat all    # small and quick
    python -m hls_model evaluate --recording song.flac song.beats
    python -m hls_model evaluate --recordings my-music/     # real recordings: the package vs. baselines
    python -m hls_model convert --platform f1 --precision 'ap_fixed<18,8>' --reuse-factor 2
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hls_model import pipeline
from hls_model.config import PipelineConfig
from hls_model.platform_parts import PARTS

console = Console(stderr=True)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )


def _run(context: click.Context, step: str, **options) -> dict:
    settings = context.obj
    with _progress() as progress:
        try:
            summary = pipeline.RUNNERS[step](settings["config"], settings["work"], progress, force=settings["force"],
                                             **options)
        except pipeline.StepFailed as error:
            raise click.ClickException(f"{step}: {error}") from None
    state = "up to date, skipped" if summary.pop("skipped", False) else "done"
    summary.pop("history", None)
    click.echo(f"{step}: {state}")
    click.echo(json.dumps(summary, indent=2, sort_keys=True, default=str))
    return summary


@click.group()
@click.option("--work", type=click.Path(file_okay=False, path_type=Path), default=Path("build/hls_model"),
              show_default=True, help="Folder of every step's outputs.")
@click.option("--ci", is_flag=True, help="The small configuration (CI, quick looks).")
@click.option("--force", is_flag=True, help="Run the step even when its inputs did not change.")
@click.option("--platform", type=click.Choice(sorted(PARTS)), default=None, help="FPGA platform (default f2).")
@click.option("--precision", default=None, help="hls4ml default precision, e.g. 'ap_fixed<16,6>'.")
@click.option("--reuse-factor", type=click.IntRange(min=1), default=None, help="hls4ml reuse factor.")
@click.pass_context
def cli(context: click.Context, work: Path, ci: bool, force: bool, platform: str | None, precision: str | None,
        reuse_factor: int | None) -> None:
    """Train the beat model on generated songs, convert it with hls4ml, wrap it for the FPGA, package it."""
    config = PipelineConfig.ci() if ci else PipelineConfig()
    overrides = {
        key: value
        for key, value in (("platform", platform), ("precision", precision), ("reuse_factor", reuse_factor))
        if value is not None
    }
    config = dataclasses.replace(config, convert=dataclasses.replace(config.convert, **overrides))
    context.obj = {"config": config, "work": work, "force": force}


@cli.command()
@click.pass_context
def generate(context: click.Context) -> None:
    """Generate the train/validation/test songs and their features."""
    _run(context, "generate")


@cli.command()
@click.pass_context
def train(context: click.Context) -> None:
    """Train the QKeras network (early stopping, seeded)."""
    _run(context, "train")


@cli.command()
@click.option("--recording", "recordings", nargs=2, multiple=True, type=click.Path(exists=True, path_type=Path),
              metavar="AUDIO BEATS", help="Also score a recording (wav/flac + one-time-per-line beats file).")
@click.option("--recordings", "folder", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              metavar="DIR", help="Instead of the held-out step: score the packaged model, its tracker on the "
              "onset envelope and librosa on every audio file of DIR with a .beats file beside it.")
@click.option("--package", "package_path", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="With --recordings: a beat-model-<release>/ folder (`fab synth` unpacks each build's "
              "beside its tarball in build/deploy/) [default: the package built under --work].")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None, metavar="DIR",
              help="With --recordings: folder of recordings.json and recordings.png "
              "[default: <work>/evaluate-recordings].")
@click.pass_context
def evaluate(context: click.Context, recordings: tuple[tuple[Path, Path], ...], folder: Path | None,
             package_path: Path | None, out: Path | None) -> None:
    """Frame accuracy, ROC AUC, beat F-measure and tempo accuracy on held-out songs.

    With --recordings DIR, the real-recordings evaluation runs instead (the held-out step is not
    run): the released model package, the same beat tracker on the plain onset envelope, and
    librosa's beat tracker, scored with mir_eval on the beats after 5 s; a table per recording and
    the means, recordings.json and recordings.png under --out. Audio files without a .beats file
    are skipped with a warning.
    """
    if folder is None:
        if package_path or out:
            raise click.UsageError("--package and --out go with --recordings DIR")
        _run(context, "evaluate", extra_recordings=list(recordings))
        return
    if recordings:
        raise click.UsageError("--recording adds a file to the held-out step, --recordings DIR evaluates a folder "
                               "on its own: give one of them")
    # The service's detection only here: the dev host gets hls_model and the few service modules its steps use
    from hls_model import recordings_report
    from rhythm_service.model_package import ModelPackageError

    work = context.obj["work"]
    out = out or work / "evaluate-recordings"
    try:
        recordings_report.run(folder, package_path or recordings_report.built_package(work),
                              out / "recordings.json", out / "recordings.png", Console(), _progress())
    except (recordings_report.RecordingsError, ModelPackageError) as error:
        raise click.ClickException(str(error)) from None


@cli.command()
@click.pass_context
def convert(context: click.Context) -> None:
    """hls4ml conversion, C emulation, agreement with Keras."""
    _run(context, "convert")


@cli.command()
@click.pass_context
def package(context: click.Context) -> None:
    """Artifact folder, CL wrapper, build scripts, manifest and tarball."""
    _run(context, "package")


@cli.command(name="all")
@click.pass_context
def run_all(context: click.Context) -> None:
    """Every step in order (each skipped when up to date)."""
    for step in pipeline.STEPS:
        _run(context, step)


if __name__ == "__main__":
    cli()
