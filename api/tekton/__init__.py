"""The slice of Tekton Pipelines (`tekton.dev`) the controller uses."""
