"""Version of sleapish and the SLEAP release whose behaviour it reproduces."""

__version__ = "0.1.0"

#: The SLEAP release whose configs, models and numbers sleapish reproduces.
SLEAP_COMPAT_VERSION = "1.4.1"
