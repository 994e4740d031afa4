"""The domain flow: intake, processing, identity, apply, accounts. Never imports FastAPI."""
