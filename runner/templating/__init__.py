"""Playbook values as sandboxed Jinja2 templates, compiled once and rendered per call.

Rules:
* the environment is sandboxed and immutable: no attribute escapes (``__class__``), no
  mutation of data, no file or network access;
* an undefined name is an error, even as a lone ``{{ x }}``;
* a value that is exactly one ``{{ expression }}`` keeps the expression's native type
  (an int stays an int); any other string renders to a string, which is never re-parsed;
* only playbook text is compiled: data coming back from a vendor is passed in as values and
  is never itself rendered.
"""

from runner.templating.sandbox import GLOBAL_NAMES, SkippedOutputs, environment_variables
from runner.templating.template import (
    Template,
    compared,
    compile_template,
    is_template,
    same_source,
)
from runner.templating.values import TemplatedValue

__all__ = ["GLOBAL_NAMES", "SkippedOutputs", "Template", "TemplatedValue", "compared",
           "compile_template", "environment_variables", "is_template", "same_source"]
