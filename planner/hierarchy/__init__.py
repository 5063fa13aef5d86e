"""The hierarchy: which files and folders each cluster's desired state is built from.

One concept a module:

- `scopes`: scope rules (`environments/*` -> environment) and `HierarchyConfig`;
- `graph`: the node model and `Hierarchy`, the graph of one revision and its queries;
- `build`: `build_hierarchy`, the walk from the cluster paths (with `nodes`, making and
  locating nodes, and `follow`, following Flux and Argo CD objects);
- `parsing`: parsed YAML cached by blob id, shared by the base and head graphs;
- `reuse`: `edges_unchanged`, when the base graph is the head graph.
"""
