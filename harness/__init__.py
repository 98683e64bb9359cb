"""Hardware-in-the-loop evaluation of Kronecker-compressed tiny neural networks on Cortex-M boards."""

__version__ = "0.1.0"
