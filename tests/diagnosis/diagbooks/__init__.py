"""Runbooks of the Diagnosis tests: small troubleshooting trees."""
