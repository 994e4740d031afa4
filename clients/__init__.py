"""Client-side artefacts shipped with the server (field forms for ODK Collect / KoboCollect)."""
