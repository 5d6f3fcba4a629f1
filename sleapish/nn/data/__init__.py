"""Data pipelines and training targets (SLEAP's `sleap.nn.data`).

Examples travel through `tf.data` as dicts of tensors. A *provider* makes the first
dataset (`LabelsReader`, `VideoReader`); *transformers* map datasets to datasets
(`transform_dataset(ds)`), each declaring `input_keys` and `output_keys`; a
`Pipeline` composes them. Submodules are imported on use.
"""
