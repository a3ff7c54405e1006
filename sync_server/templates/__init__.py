"""Jinja templates for the HTML pages (a package so that setuptools ships the .html files)."""
