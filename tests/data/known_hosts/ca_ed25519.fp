256 SHA256:XYuk+duqcl9OjQ5cUy7ViYNnMPdh/ZistUXWC07oPgA nearmiss-test-ca_ed25519 (ED25519)
