"""The choices the command line offers (tasks, methods, cells, number formats), kept free of heavy imports so `--help` stays fast."""

TASKS = ("kws", "har")
# *-bytes: the baseline at the KP model's int8 flash bytes instead of its parameter count.
METHODS = ("dense", "kp", "dkp", "prune", "lowrank", "small", "prune-bytes", "lowrank-bytes")
CELLS = ("lstm", "gru", "fastgrnn")
DTYPES = ("fp32", "w8", "int8")   # number formats of an export (harness/export)
