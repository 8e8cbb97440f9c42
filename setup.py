"""Packaging beyond what pyproject.toml can say: the top-level templates/ ships as the package lipgen.templates."""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["lipgen", "lipgen.*"]) + ["lipgen.templates"],
    package_dir={"lipgen.templates": "templates"},
    package_data={"lipgen.templates": ["*/*.j2"]},
)
