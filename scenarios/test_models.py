"""Model scenarios: each model given with --models, evaluated on the board (or its twin).

    pytest scenarios/ --board=nucleo-f446re --models models/zoo [--dtype int8] [--limit N] [--report-dir D]

Every sample's result lands in the run directory as it arrives (see
docs/reports.md); these checks are what a run must satisfy to pass.
"""

import math


def test_model_on_device(model_dir, evaluation):
    outcome = evaluation.evaluate(model_dir)
    assert outcome.n > 0
    record = outcome.record
    # The device ran the model the manifest describes (checked at connect) and fits the board.
    assert record.image.flash <= record.board.flash_bytes
    assert record.image.ram <= record.board.ram_bytes
    assert 0 < record.stack_peak < record.stack_size
    if outcome.dtype == "int8":
        # Integer arithmetic is specified bit for bit: the device must be the reference.
        assert outcome.agreement == 1.0, f"{outcome.name}: device and host reference disagree on " \
                                         f"{round((1 - outcome.agreement) * outcome.n)} of {outcome.n} samples"
        assert outcome.max_abs_err == 0.0
        assert outcome.accuracy == outcome.reference_accuracy
    else:
        # Float formats: same operations, summation order may differ.
        assert outcome.agreement >= 0.99
        assert math.isfinite(outcome.max_abs_err) and outcome.max_abs_err < 1e-3
