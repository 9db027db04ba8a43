"""The OpenAPI schema: post-processing that documents the error answers every
operation can give (DRF produces them outside the views, so drf-spectacular
cannot see them), so clients and schemathesis know every status code to
expect; and the schema and docs views, whose errors are JSON like every
other answer of the API."""

from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.renderers import JSONRenderer

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


class JSONErrorsMixin:
    """Errors rendered as JSON whatever the view renders on success: the
    schema's YAML renderer would answer a 405 or 406 in YAML, the docs page's
    template renderer in plain text."""

    def finalize_response(self, request, response, *args, **kwargs):
        if getattr(response, "exception", False):  # set by APIView.handle_exception
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


class SchemaView(JSONErrorsMixin, SpectacularAPIView):
    pass


class SchemaDocsView(JSONErrorsMixin, SpectacularSwaggerView):
    pass
