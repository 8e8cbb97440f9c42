"""Instances: naming, sidecars, manifest, settings files, generation and inspection."""
