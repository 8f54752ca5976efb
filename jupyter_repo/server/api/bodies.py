"""The REST API's JSON bodies, checked into the services' typed values (400 otherwise).

The services take dataclasses, never a request's dict: the shapes anaconda.org's API (and
anaconda-client 1.16) sends are read here, at the HTTP layer — ``public_attrs`` or a flat
object, a ``license`` that is a name or ``{"name", "url"}``, ``channels`` for labels — and a
value of the wrong JSON type is a 400 with a message naming it. What a value must look like
(names, hashes, package types) the services still check.
"""

from __future__ import annotations

from typing import Any

from jupyter_repo.repository.errors import InvalidInput
from jupyter_repo.repository.services.labels import FileSelection
from jupyter_repo.repository.services.packages import (
    PACKAGE_TEXT_FIELDS,
    PackageAttrs,
    ReleaseAttrs,
)
from jupyter_repo.repository.services.uploads import StageRequest

JsonObject = dict[str, Any]
_JSON_VALUES = (str, int, float, bool, type(None), list, dict)
_PACKAGE_KEYS = frozenset({*PACKAGE_TEXT_FIELDS, "license", "package_types", "name"})
_RELEASE_KEYS = frozenset({"summary", "description", "version"})


def _extra(attrs: JsonObject, known: frozenset[str]) -> dict[str, Any]:
    """The other JSON values of ``attrs``, kept as they are."""
    return {
        key: value
        for key, value in attrs.items()
        if key not in known and isinstance(value, _JSON_VALUES)
    }


def package_attrs(attrs: Any) -> PackageAttrs:
    """``public_attrs`` of a package: texts must be strings, ``package_types`` a list."""
    if not isinstance(attrs, dict):
        raise InvalidInput("public_attrs must be an object.")
    texts: dict[str, str] = {}
    for field in PACKAGE_TEXT_FIELDS:
        value = attrs.get(field)
        if value is not None:
            if not isinstance(value, str):
                raise InvalidInput(f"{field} must be a string.")
            texts[field] = value
    license_name: str | None = None
    license_value = attrs.get("license")
    if isinstance(license_value, dict):  # anaconda-client: {"name", "url", "family"}
        license_name = str(license_value.get("name") or "")
        if license_value.get("url"):
            texts["license_url"] = str(license_value["url"])
    elif isinstance(license_value, str):
        license_name = license_value
    types = attrs.get("package_types")
    if types and not isinstance(types, list):
        raise InvalidInput("package_types must be a list.")
    return PackageAttrs(
        **texts,
        license=license_name,
        package_types=tuple(str(item) for item in types or ()),
        extra=_extra(attrs, _PACKAGE_KEYS),
    )


def new_package(body: JsonObject) -> tuple[PackageAttrs, bool]:
    """``POST /package/...``: ``{"public": bool, "public_attrs": {...}}``."""
    return package_attrs(body.get("public_attrs") or {}), body.get("public", True) is not False


def package_update(body: JsonObject) -> tuple[PackageAttrs, bool | None]:
    """``PATCH /package/...``: ``public_attrs`` (or the object itself) and ``public``
    (``None``: the visibility stays)."""
    public = body.get("public")
    return (package_attrs(body.get("public_attrs", body)), None if public is None else bool(public))


def release_attrs(attrs: Any) -> ReleaseAttrs:
    """A release's attributes: ``summary`` and ``description`` when they are text."""
    if not isinstance(attrs, dict):
        raise InvalidInput("Release attributes must be an object.")
    summary, description = attrs.get("summary"), attrs.get("description")
    return ReleaseAttrs(
        summary=summary if isinstance(summary, str) else None,
        description=description if isinstance(description, str) else None,
        extra=_extra(attrs, _RELEASE_KEYS),
    )


def release_update(body: JsonObject) -> ReleaseAttrs:
    """``PATCH /release/...``: ``public_attrs``, or the object itself."""
    return release_attrs(body.get("public_attrs", body))


def file_selection(body: JsonObject) -> FileSelection:
    """``package``, ``version`` and ``basename`` of a label change, each text or null."""
    values: list[str | None] = []
    for key in ("package", "version", "basename"):
        value = body.get(key)
        if value is not None and not isinstance(value, str):
            raise InvalidInput(f"'{key}' must be a string or null.")
        values.append(value or None)
    return FileSelection(*values)


def stage_request(body: JsonObject) -> StageRequest:
    """anaconda-client's stage call: type, labels (``channels``), sha256, description."""
    distribution_type = body.get("distribution_type")
    if distribution_type is not None and not isinstance(distribution_type, str):
        raise InvalidInput("The package type must be a string.")
    labels = body.get("channels")
    if labels is not None and not isinstance(labels, list):
        raise InvalidInput("Labels must be given as a list of names.")
    sha256 = body.get("sha256")
    if sha256 is not None and not isinstance(sha256, str):
        raise InvalidInput("sha256 must be 64 hexadecimal characters.")
    description = body.get("description")
    return StageRequest(
        distribution_type=distribution_type or None,
        labels=labels,
        sha256=sha256 or None,
        description=description if isinstance(description, str) else None,
    )


def dist_id(body: JsonObject) -> str:
    """The upload id a commit call names."""
    value = body.get("dist_id")
    if not isinstance(value, str):
        raise InvalidInput("The commit request needs the dist_id returned by the stage call.")
    return value


def yank_reason(body: JsonObject) -> str | None:
    """``{"reason": "..."}`` of a yank (optional; ``null`` or missing: no reason)."""
    unknown = sorted(set(body) - {"reason"})
    if unknown:
        raise InvalidInput(f"Unknown field {unknown[0]!r}: a yank takes only 'reason'.")
    reason = body.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise InvalidInput("reason must be a string.")
    return reason
