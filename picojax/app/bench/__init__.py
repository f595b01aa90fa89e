"""Benchmarks behind `picojax bench <name>`: one module each, discovered by name.

A bench module has ``HELP``, ``add_arguments(parser)`` and ``run(args)``; ``run`` measures,
then calls `picojax.app.bench.report.emit` once, which prints a short table and one JSON line
(the figures plus the machine), so results compare across machines and commits.
Module ``foo_bar`` is the bench ``foo-bar``. Heavy imports go inside ``run``.
"""
