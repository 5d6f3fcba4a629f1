"""Neural-network package of sleapish, mirroring `sleap.nn`.

Submodules are imported on use, so `import sleapish.nn.config` does not import
TensorFlow.
"""
