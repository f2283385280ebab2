"""Forecasting PM2.5 and O3 72 hours ahead with quantiles (Keras 3 on TensorFlow).

Importing this package does not import TensorFlow: the model loads lazily in each process on first use.
"""
from core.forecast.predictor import ModelUnavailable, model_status

__all__ = ["ModelUnavailable", "model_status"]
