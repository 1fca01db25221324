"""Deterministic, protocol-faithful double of the upstream providers.

Entry points: ``bytespike.simulator.app.create_simulator_app()`` and
``python -m bytespike.simulator``. Behaviour is steered by ``[[sim ...]]`` directives in
the last user turn (see ``directives.py``); token counting rules are in ``tokens.py``.
"""
