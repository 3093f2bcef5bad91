"""Release runbooks: deploy a release, roll it back, ship a hotfix."""
