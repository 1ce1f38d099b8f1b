"""REST dialects: one package per dialect (thin routers over the core services), api/common for what they
share, api/mount.py to mount them all at their documented paths."""
