"""Instances: naming, sidecars, manifest, settings files, generation and inspection (formulation + writers -> files)."""

from .generate import TARGETS, Generated, generate, update_manifest
from .lists import INSTANCE_SUFFIXES, TEST_LIST_SUFFIX, find_instances, read_test_list
from .naming import MANIFEST, NETWORK_DIR, encoding_tag, instance_stem, instance_stem_of, norm_tag, sidecar_for
from .sidecar import SIDECAR_VERSION, box_of, formulation_of, load_sidecar, network_of, rebuild_model, spec_of

__all__ = ["INSTANCE_SUFFIXES", "MANIFEST", "NETWORK_DIR", "SIDECAR_VERSION", "TARGETS", "TEST_LIST_SUFFIX",
           "Generated", "box_of", "encoding_tag", "find_instances", "formulation_of", "generate", "instance_stem",
           "instance_stem_of", "load_sidecar", "network_of", "norm_tag", "read_test_list", "rebuild_model",
           "sidecar_for", "spec_of", "update_manifest"]
