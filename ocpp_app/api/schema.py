"""OpenAPI post-processing: document the error answers every operation can
give (DRF produces them outside the views, so drf-spectacular cannot see
them), so clients and schemathesis know every status code to expect."""

ERROR_BODY = {
    "type": "object",
    "description": "`detail` for authentication, permission and not-found errors; "
    "field name -> list of messages for validation errors.",
    "additionalProperties": True,
}
ERRORS = {
    "400": "Invalid input (validation errors per field, or `detail`)",
    "401": "No or invalid credentials",
    "403": "Not a staff user, or a session request without its CSRF token",
    "404": "Not found",
    "405": "Method not allowed",
}


def add_error_responses(result, generator, request, public):
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for code, description in ERRORS.items():
                if code == "404" and "{" not in path:
                    continue
                if code == "400" and method == "get" and not operation.get("parameters"):
                    continue
                responses.setdefault(
                    code, {"description": description, "content": {"application/json": {"schema": ERROR_BODY}}}
                )
    return result
