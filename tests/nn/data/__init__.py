"""Tests of sleapish.nn.data (a package so that module names such as test_identity do
not clash with tests/nn/test_identity.py)."""
