"""Renderers: plans, explanations, graphs and findings as text for people (pure)."""
