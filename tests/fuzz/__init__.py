"""Fuzz targets for the loaders (run with `nox -s fuzz`; not part of the default test run)."""
