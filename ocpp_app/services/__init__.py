"""All writes and business rules: plain functions with keyword-only arguments,
plain values in, a model or a small dataclass out, no network I/O."""
