"""The edges that touch the world: git repositories, files on disk, the kustomize renderer.

Nothing in the core imports this package (a test checks it); `planner.api` wires adapters
to the core.
"""
