"""Forecasting PM2.5 and O3 72 hours ahead with quantiles (Keras 3 on TensorFlow).

Importing this package does not import TensorFlow: the model loads lazily in each process on first use.
"""
from core.forecast.predictor import ModelSlot, ModelUnavailable

__all__ = ["ModelSlot", "ModelUnavailable"]
