"""The unit test tier (a package, so test modules of the same name in two tiers never collide)."""
