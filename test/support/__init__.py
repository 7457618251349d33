"""Helpers shared by the test tiers (imported as ``support``; pytest puts test/ on the path)."""
