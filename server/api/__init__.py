"""Flask blueprints: parse the request, call one function, shape the response."""
