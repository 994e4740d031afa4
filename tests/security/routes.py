"""Every route of the app, walked through FastAPI's included routers, with the
OpenRosa /submission pair that is answered ahead of the router (api.openrosa_submission)."""

from __future__ import annotations


def all_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every HTTP route, path as declared (`/api/v1/users/{username}`)."""
    found: set[tuple[str, str]] = set()

    def walk(routes, prefix=""):
        for route in routes:
            if hasattr(route, "effective_route_contexts"):  # an included router
                for context in route.effective_route_contexts():
                    original = context.original_route
                    path = context.path_format or context.path or getattr(original, "path", "")
                    for method in getattr(original, "methods", None) or ():
                        found.add((method, path))
            elif hasattr(route, "methods") and route.methods:
                for method in route.methods:
                    found.add((method, prefix + route.path))
    walk(app.routes)
    for prefix in ("", "/key/{token}"):
        found |= {("HEAD", f"{prefix}/submission"), ("POST", f"{prefix}/submission")}
    return sorted(found, key=lambda mp: (mp[1], mp[0]))
