"""A keyword-spotting corpus spoken by espeak-ng, in the Speech Commands layout.

Every clip is one word from one voice (an English accent with a voice
variant), at a random speed, pitch and amplitude, trimmed, shifted inside the
1 s clip and mixed with white, pink or brown noise at one of several SNRs.
Voices are split into train / validation / test before any clip is made, so
validation_list.txt and testing_list.txt only name clips of voices that are
never heard in training. `_background_noise_/` holds long noise recordings
from which the loader cuts `_silence_` clips, as for the real data set.

The corpus is a pure function of its parameters and the espeak-ng version:
the folder is named by their hash and reused when it is complete.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import multiprocessing
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from .cache import atomic_write_bytes, cache_dir, key_of
from .dataset import assign_groups
from .noise import NOISE_EXPONENTS, colored_noise, mix_at_snr
from .speech_commands import BACKGROUND, KEYWORDS, SAMPLE_RATE

ESPEAK_RATE = 22050

ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd",
           "en-029", "en-us-nyc")
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5",
            "klatt", "klatt3", "croak", "grandma", "Annie", "Andy", "steph", "whisper")
# The non-keyword words of Speech Commands v2; they make up `_unknown_`.
UNKNOWN_WORDS = ("bed", "bird", "cat", "dog", "eight", "five", "four", "happy", "house", "marvin", "nine",
                 "one", "seven", "sheila", "six", "three", "tree", "two", "wow", "zero", "backward",
                 "forward", "follow", "learn", "visual")

# Sized so that generation takes well under two minutes on two cores.
DEFAULT_CLIPS_PER_WORD = 400
MARKER = "corpus.json"


@dataclass(frozen=True)
class KwsSynthParams:
    clips_per_word: int = DEFAULT_CLIPS_PER_WORD
    # Unknown-word clips in all, as a multiple of clips_per_word; the loader
    # keeps about 0.1 x (keyword clips) of them per split, so 1.2 leaves slack.
    unknown_ratio: float = 1.2
    seed: int = 0
    validation_voices: float = 0.1
    test_voices: float = 0.1
    speed_wpm: tuple[int, int] = (110, 230)
    pitch: tuple[int, int] = (10, 90)
    amplitude: tuple[int, int] = (40, 180)
    snr_db: tuple[float, ...] = (5.0, 10.0, 20.0, 40.0)
    noise_colors: tuple[str, ...] = ("white", "pink", "brown")
    background_seconds: int = 30
    accents: tuple[str, ...] = ACCENTS
    variants: tuple[str, ...] = VARIANTS
    keywords: tuple[str, ...] = tuple(KEYWORDS)
    unknown_words: tuple[str, ...] = UNKNOWN_WORDS

    def validate(self) -> None:
        if self.clips_per_word < 1:
            raise ValueError(f"clips_per_word must be at least 1, got {self.clips_per_word}")
        bad = [c for c in self.noise_colors if c not in NOISE_EXPONENTS]
        if bad:
            raise ValueError(f"unknown noise colour {bad[0]!r}; choose from {', '.join(NOISE_EXPONENTS)}")
        if not (self.accents and self.variants):
            raise ValueError("at least one accent and one variant are needed to make voices")

    def voices(self) -> list[str]:
        return [f"{a}+{v}" for a in self.accents for v in self.variants]


@dataclass
class ClipSpec:
    rel_path: str
    word: str
    voice: str
    speed: int
    pitch: int
    amplitude: int
    snr_db: float
    color: str
    seed: int


@dataclass
class Corpus:
    """A generated corpus folder and what made it."""

    root: Path
    params: KwsSynthParams
    source_hash: str
    espeak_version: str
    voice_split: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    generated: bool = False
    seconds: float = 0.0


def speaker_id(voice: str) -> str:
    """8 hex digits, like the speaker hashes of Speech Commands file names."""
    return hashlib.sha1(voice.encode()).hexdigest()[:8]


def espeak_version() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise FileNotFoundError("espeak-ng is not installed; install it with `apt-get install espeak-ng`")
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True).stdout
    return out.split("Data at")[0].replace("eSpeak NG text-to-speech:", "").strip()


def _voice_table(*args: str) -> list[list[str]]:
    out = subprocess.run(["espeak-ng", *args], capture_output=True, text=True, check=True).stdout
    return [ln.split() for ln in out.splitlines()[1:] if ln.strip()]


def check_voices(p: KwsSynthParams) -> None:
    """espeak-ng silently ignores an unknown variant, so refuse it before generating."""
    languages = {row[1] for row in _voice_table("--voices") if len(row) > 1}
    variants = {c.split("/", 1)[1] for row in _voice_table("--voices=variant") for c in row if c.startswith("!v/")}
    bad = [a for a in p.accents if a not in languages] + [v for v in p.variants if v not in variants]
    if bad:
        raise ValueError(f"espeak-ng has no voice or variant {bad[0]!r}; "
                         "see `espeak-ng --voices=en` and `espeak-ng --voices=variant`")


def _balanced_sequence(n: int, fractions: dict[str, float]) -> list[str]:
    """n split names whose counts track `fractions` at every prefix."""
    counts = dict.fromkeys(fractions, 0)
    seq = []
    for i in range(1, n + 1):
        pick = max(fractions, key=lambda s: fractions[s] * i - counts[s])
        counts[pick] += 1
        seq.append(pick)
    return seq


def plan_corpus(p: KwsSynthParams) -> tuple[list[ClipSpec], dict[str, str]]:
    """Every clip's parameters, decided up front so that workers need no shared state."""
    p.validate()
    voices = p.voices()
    fractions = {"train": 1.0 - p.validation_voices - p.test_voices, "validation": p.validation_voices,
                 "test": p.test_voices}
    voice_split = assign_groups(voices, fractions, p.seed)
    by_split = {s: sorted(v for v in voices if voice_split[v] == s) for s in fractions}
    rng = np.random.default_rng([p.seed, 1])
    n_unknown = int(round(p.unknown_ratio * p.clips_per_word))
    # Keywords are balanced over splits word by word; unknown words, a few
    # clips each, are balanced as one pool so every split gets some.
    groups = [[w] * p.clips_per_word for w in p.keywords]
    groups.append([p.unknown_words[i % len(p.unknown_words)] for i in range(n_unknown)])
    split_fracs = {s: f for s, f in fractions.items() if by_split[s]}
    specs, taken = [], {}
    for words in groups:
        seq = _balanced_sequence(len(words), split_fracs)
        # Within a split, clips go round the split's voices in a seeded order.
        pools = {s: [by_split[s][i] for i in rng.permutation(len(by_split[s]))] for s in split_fracs}
        used = dict.fromkeys(pools, 0)
        for word, s in zip(words, seq):
            voice = pools[s][used[s] % len(pools[s])]
            used[s] += 1
            spk = speaker_id(voice)
            k = taken.get((word, spk), 0)
            taken[(word, spk)] = k + 1
            specs.append(ClipSpec(
                rel_path=f"{word}/{spk}_nohash_{k}.wav", word=word, voice=voice,
                speed=int(rng.integers(p.speed_wpm[0], p.speed_wpm[1] + 1)),
                pitch=int(rng.integers(p.pitch[0], p.pitch[1] + 1)),
                amplitude=int(rng.integers(p.amplitude[0], p.amplitude[1] + 1)),
                snr_db=float(rng.choice(p.snr_db)), color=str(rng.choice(p.noise_colors)),
                seed=int(rng.integers(2 ** 31))))
    return specs, voice_split


def resample_to_16k(x: np.ndarray, rate: int = ESPEAK_RATE) -> np.ndarray:
    """Band-limited resampling to 16 kHz (libsoxr, high quality).

    soxr's steep anti-aliasing filter removes what lies above the new 8 kHz
    Nyquist (over 100 dB down by 8.5 kHz); scipy's resample_poly with its
    default filter leaves a 9 kHz component only about 30 dB down.
    """
    return soxr.resample(np.asarray(x, dtype=np.float32), rate, SAMPLE_RATE, quality="HQ").astype(np.float32)


def trim(x: np.ndarray, threshold_db: float = -40.0, frame: int = 160) -> np.ndarray:
    """Cut leading and trailing frames quieter than threshold_db below the peak frame."""
    n = len(x) // frame
    if n == 0:
        return x
    e = np.sqrt(np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1))
    keep = np.flatnonzero(e > e.max() * 10 ** (threshold_db / 20.0))
    if keep.size == 0:
        return x
    return x[keep[0] * frame: (keep[-1] + 1) * frame]


def _speak(spec: ClipSpec, workdir: str) -> np.ndarray:
    fd, tmp = tempfile.mkstemp(suffix=".wav", dir=workdir)
    os.close(fd)
    try:
        cmd = ["espeak-ng", "-v", spec.voice, "-s", str(spec.speed), "-p", str(spec.pitch),
               "-a", str(spec.amplitude), "-z", "-w", tmp, spec.word]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            msg = (r.stderr or r.stdout).strip().splitlines()
            raise ValueError(f"espeak-ng failed for voice {spec.voice!r} ({msg[0] if msg else r.returncode}); "
                             "check `espeak-ng --voices=en` and `espeak-ng --voices=variant`")
        data, sr = sf.read(tmp, dtype="float32")
    finally:
        os.unlink(tmp)
    return resample_to_16k(data, sr)


def render_clip(spec: ClipSpec, workdir: str) -> np.ndarray:
    """The finished 1 s, 16 kHz clip of one spec."""
    rng = np.random.default_rng(spec.seed)
    speech = trim(_speak(spec, workdir))
    if len(speech) > SAMPLE_RATE:
        # Slow voices can overrun a second: keep the middle, as a 1 s recording window would.
        start = (len(speech) - SAMPLE_RATE) // 2
        speech = speech[start:start + SAMPLE_RATE]
    clip = np.zeros(SAMPLE_RATE, dtype=np.float32)
    offset = int(rng.integers(0, SAMPLE_RATE - len(speech) + 1))
    clip[offset:offset + len(speech)] = speech
    noise = colored_noise(spec.color, SAMPLE_RATE, rng)
    clip = mix_at_snr(clip, noise, spec.snr_db)
    peak = float(np.max(np.abs(clip)))
    if peak > 0.99:
        clip = clip * (0.99 / peak)
    return clip.astype(np.float32)


def _render_to_file(args) -> str:
    spec, root, workdir = args
    clip = render_clip(spec, workdir)
    out = Path(root) / spec.rel_path
    sf.write(str(out), clip, SAMPLE_RATE, subtype="PCM_16")
    return spec.rel_path


def _write_background(root: Path, p: KwsSynthParams) -> None:
    bg = root / BACKGROUND
    bg.mkdir(parents=True, exist_ok=True)
    for i, color in enumerate(p.noise_colors):
        rng = np.random.default_rng([p.seed, 2, i])
        # Levels differ between files like the recordings of the real set.
        noise = colored_noise(color, p.background_seconds * SAMPLE_RATE, rng) * (0.05 + 0.05 * i)
        noise = np.clip(noise, -0.99, 0.99)
        sf.write(str(bg / f"{color}_noise.wav"), noise, SAMPLE_RATE, subtype="PCM_16")


def corpus_key(p: KwsSynthParams, version: str) -> str:
    return key_of({"generator": "kws_synth", "espeak": version, "params": asdict(p)})


def generate_kws_corpus(params: KwsSynthParams | None = None, *, out_dir: str | Path | None = None,
                        workers: int | None = None, cache: str | Path | None = None, **overrides) -> Corpus:
    """Generate (or reuse) a corpus; returns its folder and metadata.

    `out_dir` defaults to `<cache>/kws-espeak/<hash of parameters>`. Keyword
    arguments override fields of `params` (e.g. clips_per_word=20, seed=1).
    """
    p = params or KwsSynthParams()
    if overrides:
        p = KwsSynthParams(**{**asdict(p), **overrides})
    p.validate()
    version = espeak_version()
    key = corpus_key(p, version)
    root = Path(out_dir) if out_dir is not None else cache_dir(cache) / "kws-espeak" / key[:16]
    root.parent.mkdir(parents=True, exist_ok=True)
    # One generator per folder: a second process waits, then reuses the finished corpus.
    with open(root.parent / f".{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _generate_locked(p, root, key, version, workers, reuse_partial=out_dir is None)


def _generate_locked(p: KwsSynthParams, root: Path, key: str, version: str, workers: int | None,
                     reuse_partial: bool) -> Corpus:
    marker = root / MARKER
    if marker.is_file():
        meta = json.loads(marker.read_text())
        if meta.get("key") == key:
            return Corpus(root=root, params=p, source_hash=key, espeak_version=version,
                          voice_split=meta["voice_split"], counts=meta["counts"], generated=False)
        raise ValueError(f"{root} already holds a corpus made with other parameters; choose another out_dir")
    if root.exists() and any(root.iterdir()):
        if not reuse_partial:
            raise ValueError(f"{root} is not empty and holds no finished corpus; pass an empty or new folder")
        # Our own cache entry, left half-written by an interrupted run.
        shutil.rmtree(root)

    t0 = time.perf_counter()
    check_voices(p)
    specs, voice_split = plan_corpus(p)
    for word in sorted({s.word for s in specs}):
        (root / word).mkdir(parents=True, exist_ok=True)
    _write_background(root, p)
    workers = max(1, min(workers or os.cpu_count() or 1, 2 * (os.cpu_count() or 1)))
    with tempfile.TemporaryDirectory(prefix="kws-espeak-") as workdir:
        jobs = [(s, str(root), workdir) for s in specs]
        if workers == 1:
            for j in jobs:
                _render_to_file(j)
        else:
            # fork: workers need no re-import, and they touch neither torch nor threads.
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                for _ in pool.imap_unordered(_render_to_file, jobs, chunksize=16):
                    pass
    lists = {"validation": [], "test": []}
    for s in specs:
        split = voice_split[s.voice]
        if split in lists:
            lists[split].append(s.rel_path)
    (root / "validation_list.txt").write_text("".join(f"{f}\n" for f in sorted(lists["validation"])))
    (root / "testing_list.txt").write_text("".join(f"{f}\n" for f in sorted(lists["test"])))
    counts = {s: sum(1 for c in specs if voice_split[c.voice] == s) for s in ("train", "validation", "test")}
    seconds = time.perf_counter() - t0
    meta = {"key": key, "name": "kws-espeak", "synthetic": True, "espeak_version": version,
            "params": asdict(p), "counts": counts, "clips": len(specs),
            "voice_split": voice_split, "speakers": {speaker_id(v): v for v in voice_split},
            "seconds": round(seconds, 2)}
    # Written last: its presence means the corpus is complete.
    atomic_write_bytes(marker, json.dumps(meta, indent=1, sort_keys=True).encode())
    return Corpus(root=root, params=p, source_hash=key, espeak_version=version, voice_split=voice_split,
                  counts=counts, generated=True, seconds=seconds)
