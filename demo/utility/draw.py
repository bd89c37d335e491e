"""Small building blocks the demo generator draws with."""
from __future__ import annotations

import itertools
import random

from django.db.models.base import ModelState


class Weighted:
    """Draws one of `pairs` (value, weight) by weight, cumulative weights computed once."""

    def __init__(self, pairs):
        self.values = [v for v, _ in pairs]
        self.cumulative = list(itertools.accumulate(w for _, w in pairs))

    def pick(self, rng: random.Random):
        return rng.choices(self.values, cum_weights=self.cumulative)[0]


_DEFAULTS: dict[type, dict] = {}
_RELATIONS: dict[type, dict[str, str]] = {}


def make_unsaved(model, **values):
    """An unsaved instance of `model`, built without Model.__init__: the demo creates about
    650,000 of them and __init__'s per-field keyword handling was half the generation time.
    Related objects are held in the instance's relation cache (as assigning them would do);
    the loader turns them into ids once every row has its primary key."""
    if model not in _DEFAULTS:
        fields = model._meta.concrete_fields
        _DEFAULTS[model] = {f.attname: f.get_default() for f in fields}
        _RELATIONS[model] = {f.name: f.attname for f in fields if f.is_relation}
    obj = model.__new__(model)
    obj._state = ModelState()
    obj.__dict__.update(_DEFAULTS[model])
    relations = _RELATIONS[model]
    for name, value in values.items():
        if name in relations:
            if value is not None:
                obj._state.fields_cache[name] = value
        else:
            obj.__dict__[name] = value
    return obj
