"""Collections and delinquency (issue 10): dunning plans and their steps, the protection rule
engine, promises to pay and payment arrangements, the daily collections run on core.runs, and
the Collections Hub. See docs/collections.md."""
