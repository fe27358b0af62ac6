"""The orchestrator: owns each turn from intent to the committed session."""
