"""Playbooks: the model, the loader, and every check that can be made before anything is sent.

`model` is what a loaded playbook is; `loader` builds it from a YAML file and checks it as a
whole, `steps` one step at a time; `inputs` gives a run its input values.
"""

from runner.playbook.inputs import Origin, resolve_inputs, typed_text
from runner.playbook.loader import check_playbook_document, load_playbook
from runner.playbook.model import (
    DEFAULT_TIMEOUTS,
    Input,
    Playbook,
    Retries,
    ServiceBinding,
    Step,
    Timeouts,
    address_problem,
    duration_of,
    fields_of,
    parse_duration,
    step_reads,
    stream_source,
)

__all__ = ["DEFAULT_TIMEOUTS", "Input", "Origin", "Playbook", "Retries", "ServiceBinding",
           "Step", "Timeouts", "address_problem", "check_playbook_document", "duration_of",
           "fields_of", "load_playbook", "parse_duration", "resolve_inputs", "step_reads",
           "stream_source", "typed_text"]
