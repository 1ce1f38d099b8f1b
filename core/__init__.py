"""Almanac core: domain services with no web-framework imports."""
