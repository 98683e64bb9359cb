"""`load_kws` and `load_har`: one call per task, whatever the source."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from .dataset import Dataset
from .hapt import load_hapt
from .har_synth import HarSynthParams, load_har_synth
from .kws_synth import KwsSynthParams, generate_kws_corpus
from .layout import HAPT_RAW, SPEECH_COMMANDS, SPEECH_COMMANDS_TEST12, UCI_HAR, detect_layout
from .mfcc import DEFAULT_MFCC, MfccParams
from .speech_commands import load_speech_commands
from .uci_har import load_uci_har

SYNTHETIC = "synthetic"


def _is_synthetic(source) -> bool:
    return isinstance(source, str) and source == SYNTHETIC


def load_kws(source: str | Path = SYNTHETIC, split: str = "train", *, clips_per_word: int | None = None,
             seed: int = 0, mfcc: MfccParams = DEFAULT_MFCC, silence_fraction: float = 0.1,
             unknown_fraction: float | None = 0.1, workers: int | None = None,
             cache: str | Path | None = None, synth: KwsSynthParams | None = None) -> Dataset:
    """12-class keyword spotting, x (N, 49, 10) MFCC.

    source: "synthetic" (the espeak-ng corpus, generated and cached on first
    use) or a Speech Commands folder (full layout, or the 12-class test set).
    split: "train", "validation", "test" or "all" (the test layout has only
    "test"/"all"; see speaker_disjoint_split).
    """
    if _is_synthetic(source):
        p = synth or KwsSynthParams()
        changes = {k: v for k, v in (("clips_per_word", clips_per_word), ("seed", seed)) if v is not None}
        p = KwsSynthParams(**{**asdict(p), **changes})
        corpus = generate_kws_corpus(p, workers=workers, cache=cache)
        return load_speech_commands(
            corpus.root, split, params=mfcc, silence_fraction=silence_fraction, unknown_fraction=unknown_fraction,
            seed=seed, cache=cache, name="kws-espeak", synthetic=True,
            extra_params={"generator": {"espeak_ng": corpus.espeak_version, "clips_per_word": p.clips_per_word,
                                        "seed": p.seed, "corpus_key": corpus.source_hash}})
    layout = detect_layout(source)
    if layout not in (SPEECH_COMMANDS, SPEECH_COMMANDS_TEST12):
        raise ValueError(f"{source} holds a {layout} data set, not keyword spotting audio; use load_har for it")
    if clips_per_word is not None:
        raise ValueError("clips_per_word applies to the synthetic corpus only; drop it for a folder source")
    return load_speech_commands(source, split, params=mfcc, silence_fraction=silence_fraction,
                                unknown_fraction=unknown_fraction, seed=seed, cache=cache)


def load_har(source: str | Path = SYNTHETIC, split: str = "train", *, seed: int = 0,
             validation: float = 0.2, cache: str | Path | None = None,
             synth: HarSynthParams | None = None) -> Dataset:
    """6-class activity recognition, x (N, 128, 9): body_acc xyz, body_gyro xyz, total_acc xyz.

    source: "synthetic" (physical model; train/validation/test by subject),
    a UCI HAR folder (published train/test) or a HAPT raw folder
    (train/validation by subject, `validation` fraction, `seed`).
    """
    if _is_synthetic(source):
        p = synth or HarSynthParams()
        return load_har_synth(split, HarSynthParams(**{**asdict(p), "seed": seed}))
    layout = detect_layout(source)
    if layout == UCI_HAR:
        return load_uci_har(source, split, cache=cache)
    if layout == HAPT_RAW:
        return load_hapt(source, split, validation=validation, seed=seed, cache=cache)
    raise ValueError(f"{source} holds a {layout} data set, not inertial signals; use load_kws for it")
