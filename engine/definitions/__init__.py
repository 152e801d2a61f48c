"""Definitions: parse, validate and deploy BPMN/DMN (Camunda and SpiffWorkflow dialects)."""
