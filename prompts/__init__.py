"""Prompt templates, one Markdown file each, shipped with the package."""
