"""Datasets for training and evaluation: keyword spotting and activity recognition.

    load_kws(source="synthetic" | folder, split=...)  -> Dataset, x (N, 49, 10) MFCC, 12 classes
    load_har(source="synthetic" | folder, split=...)  -> Dataset, x (N, 128, 9), 6 classes

Synthetic sources (the defaults) are generated here: an espeak-ng spoken
corpus and a physical model of waist-worn inertial sensors. Folder sources
are real data in their published layouts (Speech Commands v2, its 12-class
test set, UCI HAR, HAPT raw recordings), detected automatically.
"""

from .api import SYNTHETIC, load_har, load_kws
from .cache import cache_dir
from .dataset import Dataset, speaker_disjoint_split, split_by_group
from .hapt import hapt_windows, load_hapt
from .har_signal import CHANNELS, HAR_CLASSES, inertial_channels
from .har_synth import HarSynthParams, generate_har, load_har_synth
from .kws_synth import DEFAULT_CLIPS_PER_WORD, Corpus, KwsSynthParams, generate_kws_corpus
from .layout import (HAPT_RAW, LAYOUTS, SPEECH_COMMANDS, SPEECH_COMMANDS_TEST12, UCI_HAR,
                     detect_layout)
from .mfcc import DEFAULT_MFCC, MfccParams, compute_mfcc, mfcc_batch
from .speech_commands import KEYWORDS, KWS_CLASSES, load_speech_commands, speaker_of
from .uci_har import load_uci_har

__all__ = [
    "SYNTHETIC", "load_kws", "load_har", "Dataset", "split_by_group", "speaker_disjoint_split",
    "cache_dir", "detect_layout", "LAYOUTS", "SPEECH_COMMANDS", "SPEECH_COMMANDS_TEST12", "UCI_HAR", "HAPT_RAW",
    "MfccParams", "DEFAULT_MFCC", "compute_mfcc", "mfcc_batch",
    "KEYWORDS", "KWS_CLASSES", "load_speech_commands", "speaker_of",
    "KwsSynthParams", "DEFAULT_CLIPS_PER_WORD", "Corpus", "generate_kws_corpus",
    "HAR_CLASSES", "CHANNELS", "inertial_channels", "load_uci_har", "load_hapt", "hapt_windows",
    "HarSynthParams", "generate_har", "load_har_synth",
]
