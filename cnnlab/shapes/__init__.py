"""Shape maths of CNN Lab: output shapes, their formulas, receptive fields and the layer ledger.

Nothing here runs a layer, except `trace` on models with a custom forward().
"""

from cnnlab.shapes.explain import DimExplanation, Explanation, explain
from cnnlab.shapes.formulas import output_shape
from cnnlab.shapes.ledger import Ledger, LedgerError, LedgerRow, trace
from cnnlab.shapes.receptive import input_region, receptive_fields

__all__ = [
    "DimExplanation",
    "Explanation",
    "Ledger",
    "LedgerError",
    "LedgerRow",
    "explain",
    "input_region",
    "output_shape",
    "receptive_fields",
    "trace",
]
