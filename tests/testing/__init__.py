"""Shared test helpers: fixture fleets, git repositories, emulators, kits. No tests here."""
