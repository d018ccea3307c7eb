"""Spray prediction and ranking: pure Python + numpy (no Flask, no database)."""

from aerospec.engine.predict import predict, prediction_item
from aerospec.engine.rank import explain_empty, rank
from aerospec.engine.types import SPRAY_TYPES, Catalog, Fluid, Geometry, Prediction, Ranking, Target, Targets

__all__ = [
    "SPRAY_TYPES",
    "Catalog",
    "Fluid",
    "Geometry",
    "Prediction",
    "Ranking",
    "Target",
    "Targets",
    "explain_empty",
    "predict",
    "prediction_item",
    "rank",
]
