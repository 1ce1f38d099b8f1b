"""REST dialects: thin routers that parse a request, call the core services and map the answer."""
