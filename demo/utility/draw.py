"""Small building blocks the demo generator draws with."""
from __future__ import annotations

import itertools
import random


class Weighted:
    """Draws one of `pairs` (value, weight) by weight, cumulative weights computed once."""

    def __init__(self, pairs):
        self.values = [v for v, _ in pairs]
        self.cumulative = list(itertools.accumulate(w for _, w in pairs))

    def pick(self, rng: random.Random):
        return rng.choices(self.values, cum_weights=self.cumulative)[0]
