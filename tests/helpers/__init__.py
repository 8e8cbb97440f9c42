"""What several test files share: networks and the exact oracle, reference writers, solver helpers.

Test files import from here (`from helpers.networks import tiny_network`), never from conftest.py or from
each other.
"""
