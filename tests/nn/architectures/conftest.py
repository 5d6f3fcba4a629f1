"""Backbone tests build many graphs: each test starts a fresh Keras session."""

from __future__ import annotations

import pytest

from sleapish.nn._backend import keras


@pytest.fixture(autouse=True)
def _fresh_keras_session():
    yield
    keras.backend.clear_session()
