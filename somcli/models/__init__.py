"""Saved models: ``model.py`` (JSON + ``.npz``, never pickle, written atomically) and
``model_check.py`` (every array and parameter checked before use)."""
