"""Google Speech Commands v2 in its published layouts, as the 12-class task.

Two layouts are read:

- full: one folder per word, `validation_list.txt`, `testing_list.txt` and
  `_background_noise_/`. Files in neither list are training files. The ten
  keywords keep their class; every other word is `_unknown_`; `_silence_`
  clips are 1 s slices of the background-noise files at a random volume.
  As in the standard recipe (TensorFlow's speech_commands example, used by
  Hello Edge), each split gets `unknown_fraction` and `silence_fraction`
  times as many unknown and silence clips as it has keyword clips.
- test12: the published 12-class test set, folders `_silence_`, `_unknown_`
  and the ten words plus `testing_list.txt`; only a test split.

The speaker id is the hash prefix of a file name (`<speaker>_nohash_<n>.wav`,
or `<word>_<speaker>_nohash_<n>.wav` in `_unknown_`); silence clips have none
(empty string).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import soundfile as sf

from . import mfcc as mfcc_mod
from .cache import cache_dir, hash_files, key_of, load_arrays, save_arrays
from .dataset import Dataset, normalize_split

KEYWORDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
SILENCE, UNKNOWN = "_silence_", "_unknown_"
BACKGROUND = "_background_noise_"
KWS_CLASSES = [SILENCE, UNKNOWN] + KEYWORDS
SAMPLE_RATE = 16000

FULL, TEST12 = "speech-commands", "speech-commands-test12"
_SPLIT_INDEX = {"train": 0, "validation": 1, "test": 2}


def detect_speech_commands_layout(root: Path) -> str | None:
    """FULL, TEST12, or None when `root` is in neither layout."""
    root = Path(root)
    if not root.is_dir():
        return None
    words = [w for w in KEYWORDS if (root / w).is_dir()]
    if not words:
        return None
    if (root / SILENCE).is_dir() and (root / UNKNOWN).is_dir() and (root / "testing_list.txt").is_file():
        return TEST12
    if (root / "validation_list.txt").is_file() and (root / "testing_list.txt").is_file():
        return FULL
    return None


def speaker_of(rel_path: str) -> str:
    """Speaker hash from a clip's relative path; '' for background-noise silence."""
    stem = Path(rel_path).stem
    if "_nohash_" not in stem:
        return ""
    left = stem.split("_nohash_")[0]
    # `_unknown_` clips in the test layout carry the word first: <word>_<speaker>.
    return left.rsplit("_", 1)[-1]


def read_wav(path: Path, n: int = SAMPLE_RATE) -> np.ndarray:
    """Mono float32 in [-1, 1], zero-padded or cut to n samples."""
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise ValueError(f"cannot read {path} as audio ({exc}); replace or remove the file") from None
    if sr != SAMPLE_RATE:
        raise ValueError(f"{path} is sampled at {sr} Hz, Speech Commands clips must be {SAMPLE_RATE} Hz; resample it")
    return mfcc_mod.fit_length(data.mean(axis=1), n)


def _read_list(path: Path) -> list[str]:
    return [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]


def _word_files(root: Path) -> list[str]:
    files = []
    for d in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("_")):
        files += [f"{d.name}/{f.name}" for f in sorted(d.glob("*.wav"))]
    return files


def _full_split_files(root: Path, split: str, unknown_fraction: float | None, seed: int):
    val, test = set(_read_list(root / "validation_list.txt")), set(_read_list(root / "testing_list.txt"))
    files = _word_files(root)
    if not files:
        raise ValueError(f"{root} has word folders but no .wav files in them; the copy is incomplete")
    if split == "validation":
        files = [f for f in files if f in val]
    elif split == "test":
        files = [f for f in files if f in test]
    elif split == "train":
        files = [f for f in files if f not in val and f not in test]
    known = [f for f in files if f.split("/")[0] in KEYWORDS]
    unknown = [f for f in files if f.split("/")[0] not in KEYWORDS]
    rng = np.random.default_rng([seed, _SPLIT_INDEX.get(split, 3)])
    if unknown_fraction is not None and unknown:
        k = min(len(unknown), math.ceil(unknown_fraction * len(known)))
        unknown = [unknown[i] for i in sorted(rng.choice(len(unknown), k, replace=False))]
    return known, unknown, rng


def _silence_from_background(root: Path, n: int, rng: np.random.Generator):
    """n one-second slices of the background-noise files, each at a random volume."""
    bg_files = sorted((root / BACKGROUND).glob("*.wav"))
    if n and not bg_files:
        raise ValueError(f"{root / BACKGROUND} holds no .wav files; silence clips are cut from them")
    noises = [read_wav(f, n=max(sf.info(str(f)).frames, SAMPLE_RATE)) for f in bg_files]
    clips, names = [], []
    for _ in range(n):
        i = int(rng.integers(len(noises)))
        start = int(rng.integers(len(noises[i]) - SAMPLE_RATE + 1))
        clips.append(noises[i][start:start + SAMPLE_RATE] * np.float32(rng.uniform(0.0, 1.0)))
        names.append(f"{BACKGROUND}/{bg_files[i].name}@{start}")
    return clips, names


def _features(root: Path, clips: list, params: mfcc_mod.MfccParams, chunk: int = 2048) -> np.ndarray:
    """MFCCs of clips given as relative paths or arrays, a chunk at a time to bound memory."""
    out = []
    for s in range(0, len(clips), chunk):
        audio = np.stack([read_wav(root / c) if isinstance(c, str) else c for c in clips[s:s + chunk]])
        out.append(mfcc_mod.mfcc_batch(audio, params))
    return np.concatenate(out)


def source_files(root: Path, layout: str) -> list[str]:
    """Every file the features depend on, relative to root."""
    rel = [str(p.relative_to(root)) for p in root.rglob("*.wav")]
    rel += [n for n in ("validation_list.txt", "testing_list.txt") if (root / n).is_file()]
    return rel


def load_speech_commands(root, split: str = "train", *, params: mfcc_mod.MfccParams = mfcc_mod.DEFAULT_MFCC,
                         silence_fraction: float = 0.1, unknown_fraction: float | None = 0.1, seed: int = 0,
                         cache: str | Path | None = None, name: str | None = None,
                         synthetic: bool = False, extra_params: dict | None = None) -> Dataset:
    """12-class MFCC dataset of one split of a Speech Commands folder (either layout)."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"Speech Commands folder {root} does not exist; "
                                "pass the folder that holds yes/, no/, ...")
    layout = detect_speech_commands_layout(root)
    if layout is None:
        raise ValueError(f"{root} is not in a Speech Commands layout (word folders plus validation_list.txt and "
                         "testing_list.txt, or the 12-class test set with _silence_/_unknown_); "
                         "point to the dataset root")
    available = ("train", "validation", "test", "all") if layout == FULL else ("test", "all")
    if layout == TEST12 and str(split).lower() in ("train", "validation", "val"):
        raise ValueError(f"{root} is the 12-class test layout and has only a test split; "
                         "use speaker_disjoint_split(ds) to carve a fine-tuning part out of it")
    split = normalize_split(split, available, f"the {layout} layout at {root}")
    if layout == FULL and not (root / BACKGROUND).is_dir() and silence_fraction > 0:
        raise ValueError(f"{root} has no {BACKGROUND}/ folder to cut silence clips from; "
                         "restore it or pass silence_fraction=0")
    cdir = cache_dir(cache)
    source_hash = hash_files(root, source_files(root, layout), cache=cdir)
    recipe = {"layout": layout, "split": split, "mfcc": params.as_dict(),
              "silence_fraction": silence_fraction if layout == FULL else None,
              "unknown_fraction": unknown_fraction if layout == FULL else None,
              "seed": seed if layout == FULL else None}
    key = key_of({"loader": "speech_commands", "source": source_hash, **recipe})
    entry = cdir / "features" / f"kws-{key[:40]}.npz"
    ds_params = {**recipe, **(extra_params or {})}
    name = name or ("speech-commands-v2" if layout == FULL else "speech-commands-v2-test12")

    cached = load_arrays(entry)
    if cached is not None:
        return Dataset(name=name, task="kws", split=split, synthetic=synthetic, x=cached["x"], y=cached["y"],
                       classes=KWS_CLASSES, groups=cached["groups"], source=str(root), source_hash=source_hash,
                       params=ds_params, files=tuple(cached["files"].tolist()), from_cache=True)

    if layout == FULL:
        splits = ["train", "validation", "test"] if split == "all" else [split]
        clips, labels, files = [], [], []
        for s in splits:
            known, unknown, rng = _full_split_files(root, s, unknown_fraction, seed)
            n_sil = math.ceil(silence_fraction * len(known)) if silence_fraction > 0 else 0
            sil, sil_names = _silence_from_background(root, n_sil, rng)
            clips += known + unknown + sil
            labels += [KWS_CLASSES.index(f.split("/")[0]) for f in known]
            labels += [1] * len(unknown) + [0] * len(sil)
            files += known + unknown + sil_names
    else:
        files = _read_list(root / "testing_list.txt")
        missing = [f for f in files if not (root / f).is_file()]
        if missing:
            raise FileNotFoundError(f"{len(missing)} clips listed in {root / 'testing_list.txt'} are missing "
                                    f"(e.g. {missing[0]}); the copy is incomplete")
        bad = sorted({f.split("/")[0] for f in files} - set(KWS_CLASSES))
        if bad:
            raise ValueError(f"{root / 'testing_list.txt'} lists folders outside the 12 classes ({', '.join(bad)}); "
                             "this is not the 12-class test layout")
        clips = list(files)
        labels = [KWS_CLASSES.index(f.split("/")[0]) for f in files]
    if not files:
        raise ValueError(f"split {split!r} of {root} holds no clips; check validation_list.txt and testing_list.txt")
    x = _features(root, clips, params)
    y = np.asarray(labels, dtype=np.int64)
    groups = np.asarray([speaker_of(f) if not f.startswith(BACKGROUND) else "" for f in files])
    save_arrays(entry, x=x, y=y, groups=groups, files=np.asarray(files))
    return Dataset(name=name, task="kws", split=split, synthetic=synthetic, x=x, y=y, classes=KWS_CLASSES,
                   groups=groups, source=str(root), source_hash=source_hash, params=ds_params,
                   files=tuple(files), from_cache=False)
