"""Checks attached to catalogue claims, one module per paper area; every module here is imported by
``verify.registry.load_checks`` (so adding a module registers its checks with no other edit)."""
