"""Names the command line offers, kept free of heavy imports so `--help` stays fast."""

TASKS = ("kws", "har")
METHODS = ("dense", "kp", "dkp", "prune", "lowrank", "small")
CELLS = ("lstm", "gru", "fastgrnn")
