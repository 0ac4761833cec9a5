"""The faasplane CrossGuard policy pack.

`faasplane.policies.rules` holds the validators and their metadata, `policies/__main__.py` builds the `PolicyPack`
for `pulumi preview --policy-pack policies`, and `python -m faasplane.policies.check DIR` runs the same validators
over an offline render. See `policies/README.md`.
"""
