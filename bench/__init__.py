"""The performance harness: drives the controller against the local control plane and reports
its figures against SPEC §12 and against reference points measured in the same run."""
