"""ASP.NET-style route templates of HTTP triggers: `{id}`, `{id:int}`, `{id?}`, `{*rest}`.

Follows the routing the Functions host uses
(https://learn.microsoft.com/aspnet/core/fundamentals/routing#route-constraints): matching is
case-insensitive, a constraint that fails means "no match" (404), never an error.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from devstack.functions_host.errors import StartupError

_GUID = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
_CONSTRAINTS = {
    "int": r"-?\d+", "long": r"-?\d+", "bool": r"(?i:true|false)", "alpha": r"[A-Za-z]+",
    "guid": r"\{?" + _GUID + r"\}?", "double": r"-?\d+(?:\.\d+)?", "float": r"-?\d+(?:\.\d+)?",
    "decimal": r"-?\d+(?:\.\d+)?", "datetime": r"\d{4}-\d{2}-\d{2}(?:[T ][0-9:.]+Z?)?",
}
_PARAMETER = re.compile(r"^\{(\*)?([A-Za-z_][A-Za-z0-9_]*)(?::([a-z]+))?(\?)?\}$")


@dataclass(frozen=True)
class Route:
    """A compiled route template."""

    template: str
    pattern: re.Pattern[str]
    literal_segments: int
    parameters: tuple[str, ...]

    def match(self, path: str) -> dict[str, str] | None:
        """Route parameters when ``path`` (no prefix, no leading slash) matches, else None."""
        found = self.pattern.fullmatch(path.strip("/"))
        if found is None:
            return None
        return {name: value for name, value in found.groupdict().items() if value is not None}


def compile_route(template: str) -> Route:
    """Compile a template; StartupError for malformed parameters or unknown constraints."""
    segments = [s for s in template.strip("/").split("/") if s]
    regex, literals, names = "", 0, []
    for index, segment in enumerate(segments):
        separator = "/" if index else ""
        if "{" not in segment:
            regex += re.escape(separator + segment)
            literals += 1
            continue
        catch_all, name, constraint, optional = _parse_parameter(template, segment)
        if catch_all and index != len(segments) - 1:
            raise StartupError(f"route {template!r}: a catch-all {{*{name}}} must be the last segment")
        names.append(name)
        body = ".*" if catch_all else _CONSTRAINTS[constraint] if constraint else "[^/]+"
        group = f"(?P<{name}>{body})"
        if optional or catch_all:
            regex += f"(?:{re.escape(separator)}{group})?"
        else:
            regex += re.escape(separator) + group
    return Route(template, re.compile(regex, re.IGNORECASE), literals, tuple(names))


def _parse_parameter(template: str, segment: str) -> tuple[bool, str, str | None, bool]:
    found = _PARAMETER.match(segment)
    if found is None:
        raise StartupError(f"route {template!r}: segment {segment!r} is not a route parameter like "
                           "{id}, {id:int}, {id?} or {*rest}")
    catch_all, name, constraint, optional = found.groups()
    if constraint and constraint not in _CONSTRAINTS:
        raise StartupError(f"route {template!r}: unknown constraint {constraint!r} "
                           f"(supported: {', '.join(_CONSTRAINTS)})")
    return bool(catch_all), name, constraint, bool(optional)


def sort_key(route: Route) -> tuple[int, int]:
    """Order routes most specific first: more literal segments, then fewer parameters."""
    return (-route.literal_segments, len(route.parameters))
