"""Pins: every cluster on the revision it must run, down to nested GitOps objects.

`applied` reads what a cluster applies at a revision, `nesting` traces the nested Flux and
Argo CD objects and the patches that pin them (`appsetpins` for ApplicationSets), and
`pinning` runs that for a whole fleet and finds the folders no patch can pin. Pure.
"""
