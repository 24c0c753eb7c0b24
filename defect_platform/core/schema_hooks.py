"""OpenAPI post-processing: every operation documents the error answers it can give, all in
the one error body of api_errors.py, so clients (and schema checkers) can rely on them."""

ERROR_SCHEMA = {
    "type": "object",
    "description": "Every API error: a message, a machine code, and per-field messages.",
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["detail", "code", "errors"],
}
ERRORS = {
    "400": "The request is invalid (see `errors`).",
    "401": "Not signed in, or the token is unknown, expired or revoked.",
    "403": "Signed in, but the role (or the token's scope) does not allow it.",
    "404": "No such object, or it belongs to a project outside the caller's.",
    "405": "The method is not allowed here.",
    "409": "The request conflicts with the current state (stale version, no model, ...).",
    "413": "The upload is too large.",
    "415": "The content type is not accepted.",
    "429": "Too many requests: retry later.",
    "503": "The database or a service is unavailable: retry after `Retry-After` seconds.",
    "507": "The server's storage is full: nothing was saved.",
}


def add_error_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path in result.get("paths", {}).values():
        for method, operation in path.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            for code, description in ERRORS.items():
                responses.setdefault(code, {"description": description, "content": error})
    return result
