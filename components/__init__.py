"""Pulumi components that provision the faasplane platform (one component per module)."""
