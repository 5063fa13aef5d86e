"""wave-planner: turn a change to a multi-cluster GitOps repository into a progressive rollout.

The package is a pure core (models and functions that decide everything) with thin edges
(`planner.adapters` touches git and files, `planner.cli` parses arguments and prints).
`planner.api` is the library entry point.
"""

__version__ = "0.1.0"
