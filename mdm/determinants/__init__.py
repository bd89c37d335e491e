"""Billing determinants: the pure calculation billing's determinant service calls.

mdm loads a service point's (or virtual meter's) channel-days, installation segments and
multipliers into `Term`s and calls `calculate_determinants`; billing prices the returned
`Determinants` (Decimal quantities, 6 places)."""
from mdm.determinants.calculate import Determinants, calculate_determinants, calculate_determinants_many
from mdm.determinants.inputs import DayRecord, DayRows, DeterminantError, MultiplierPeriod, Segment, Term

__all__ = [
    "DayRecord",
    "DayRows",
    "DeterminantError",
    "Determinants",
    "MultiplierPeriod",
    "Segment",
    "Term",
    "calculate_determinants",
    "calculate_determinants_many",
]
