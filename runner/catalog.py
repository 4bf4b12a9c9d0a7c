"""The specs a user can name: ./specs/ of the working directory over the shipped ones."""

from __future__ import annotations

from pathlib import Path

from runner.errors import InputError
from runner.spec import Endpoint, Spec, find_spec_file, load_spec, shipped_spec_files
from runner.validation import suggest


def spec_files() -> dict[str, Path]:
    """Every spec file by its name; ./specs/ of the working directory over the shipped ones."""
    files = {p.stem: p for p in shipped_spec_files()}
    files.update({p.stem: p for p in sorted(Path("specs").glob("*.yaml"))})
    return files


def all_specs() -> dict[str, Spec]:
    """Every spec by service name; a local file shadows the shipped one of the same name."""
    specs = (load_spec(path) for path in spec_files().values())
    return {spec.service: spec for spec in sorted(specs, key=lambda s: s.service)}


def spec_named(reference: str, base_dir: Path | None = None) -> Spec:
    """The spec a playbook's `spec:` (a name or a path) refers to."""
    return load_spec(find_spec_file(reference, base_dir))


def endpoint_named(qualified: str) -> Endpoint:
    """`SERVICE.ENDPOINT` (e.g. huawei-isales.appoint.list) -> its `Endpoint`."""
    specs = all_specs()
    service, _, name = qualified.partition(".")
    if service not in specs:
        raise InputError.plain(f"no service {service!r}" + suggest(service, specs)
                               + f" (known: {', '.join(specs)})")
    return specs[service].endpoint(name)
