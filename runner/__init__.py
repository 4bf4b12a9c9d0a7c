"""outbound-runner: a declarative runner for call-center vendor APIs."""

__version__ = "0.1.0"
