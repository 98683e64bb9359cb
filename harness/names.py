"""Names the command line offers, kept free of heavy imports so `--help` stays fast."""

TASKS = ("kws", "har")
METHODS = ("dense", "kp", "dkp", "prune", "lowrank", "small")
CELLS = ("lstm", "gru", "fastgrnn")
DTYPES = ("fp32", "w8", "int8")   # number formats of an export (harness/export)
