"""Endpoint specs: the model, the loader, and the checks a schema cannot express.

A spec file is validated against `schemas/spec.schema.json` (which also checks every embedded
JSON Schema against the 2020-12 metaschema), then against the rules in `rules`, and only then
becomes a frozen `Spec` (`model`). Validators of every endpoint are compiled once.
"""

from runner.spec.loader import check_spec_document, find_spec_file, load_spec, shipped_spec_files
from runner.spec.model import (
    LINE_BREAK,
    LOCATIONS,
    READ_KINDS,
    Auth,
    Endpoint,
    ParamLocation,
    ResultCode,
    Spec,
    nodes_at,
    sent_again,
)

__all__ = ["LINE_BREAK", "LOCATIONS", "READ_KINDS", "Auth", "Endpoint", "ParamLocation",
           "ResultCode", "Spec", "check_spec_document", "find_spec_file", "load_spec", "nodes_at",
           "sent_again", "shipped_spec_files"]
