"""SLEAP 1.4.1's packaged training profiles (JSON files; see
:mod:`sleapish.nn.training.profiles`)."""
