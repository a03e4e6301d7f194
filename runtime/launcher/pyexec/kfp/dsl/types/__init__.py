"""Artifact classes and type annotations of kubeline's builtin kfp runtime."""
