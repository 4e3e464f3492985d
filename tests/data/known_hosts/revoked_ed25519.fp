256 SHA256:Ta0B+HQpLeJoklzfYulTYvaBG9EMy2mjzAqAr9gwmiw nearmiss-test-revoked_ed25519 (ED25519)
