"""Adapters to the Camunda 7 engine: the REST gateway, typed variables, provisioning.

No other package talks to the engine's HTTP API directly.
"""
